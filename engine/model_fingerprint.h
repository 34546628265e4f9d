// A 64-bit identity of a model's weights, so that a state exported by one server is
// loaded only by servers holding the same model (state_blob.h). Cheap at load time: it
// hashes the config fields that shape the model and, for every tensor, its name, dtype,
// shape and its first and last 256 bytes (a fine-tune of the same shape differs there),
// never the whole weights. The directory's name does not count, so replicas may mount
// the model anywhere.
#ifndef GLASERVE_ENGINE_MODEL_FINGERPRINT_H_
#define GLASERVE_ENGINE_MODEL_FINGERPRINT_H_

#include <cstdint>

#include "engine/checkpoint.h"

namespace glaserve {

uint64_t ModelFingerprint(const Checkpoint& checkpoint);

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_MODEL_FINGERPRINT_H_
