// The interface between the engine and a backend (CPU now, CUDA later). A runner owns the
// weights and every sequence's state; the engine refers to a state only by its slot index.
#ifndef GLASERVE_ENGINE_MODEL_RUNNER_H_
#define GLASERVE_ENGINE_MODEL_RUNNER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "engine/check.h"
#include "engine/model_config.h"
#include "engine/sampler.h"

namespace glaserve {

// Tokens of one sequence to push through the model in one Forward call: a whole prompt,
// a piece of a long prompt, or the single token of a decode step. The sequence continues
// from whatever its slot's state holds.
struct SequenceBatchEntry {
  int32_t slot = 0;
  std::span<const int32_t> token_ids;
  // Whether the logits of the last token are needed (false for a prompt piece that is
  // not the prompt's end).
  bool want_logits = true;
};

class ModelRunner {
 public:
  virtual ~ModelRunner() = default;

  virtual const ModelConfig& config() const = 0;
  virtual int32_t num_slots() const = 0;
  // Bytes of one sequence's state.
  virtual int64_t state_bytes_per_sequence() const = 0;
  // "cpu", "cuda:0", ...
  virtual std::string device_name() const = 0;

  // "f32" or "bf16": the element type of the state, part of a state's identity when it
  // leaves the runner (prefix cache, sessions, export).
  virtual std::string state_dtype_name() const = 0;

  // Zeroes a slot's state, for a sequence that starts from nothing.
  virtual void ResetSlot(int32_t slot) = 0;

  // Copies a slot's whole state ([L, H_kv, dv, dk] in state_dtype_name(), exactly
  // state_bytes_per_sequence() bytes) out to host memory, or in from it. Both finish
  // before returning; they must not be called while a Forward is running.
  virtual void ReadSlotState(int32_t slot, std::span<std::byte> bytes) = 0;
  virtual void WriteSlotState(int32_t slot, std::span<const std::byte> bytes) = 0;
  // Copies slot `from`'s state onto slot `to` without a round trip through the host.
  virtual void CopySlotState(int32_t from, int32_t to) = 0;

  // Starts copying a slot's state out like ReadSlotState, but `bytes` need only be
  // complete once FinishSlotStateReads returns, so that a device backend can overlap the
  // copy with the next Forward (the prefix cache snapshots prompts this way, never
  // stalling decode). The copy is of the state as it is now: later calls that change the
  // slot must not reach it. The default copies at once.
  virtual void StartReadSlotState(int32_t slot, std::span<std::byte> bytes) { ReadSlotState(slot, bytes); }
  // Waits for every copy StartReadSlotState began.
  virtual void FinishSlotStateReads() {}

  // Runs every entry's tokens from its slot's state, leaving the state after its last
  // token in the slot. For entry i with want_logits, writes the logits of its last token
  // to logits[i * vocab_size, (i + 1) * vocab_size); other rows are left untouched.
  // Entries must use distinct slots and at least one token each.
  virtual void Forward(std::span<const SequenceBatchEntry> batch, std::span<float> logits) = 0;

  // Backends that can sample on their device say so; the engine then calls
  // ForwardAndSample instead of Forward, and logits never leave the device.
  virtual bool samples_on_device() const { return false; }
  // Like Forward, then draws the next token of every entry with want_logits, by
  // requests[i] for entry i (the other entries' requests and tokens are ignored).
  virtual void ForwardAndSample(std::span<const SequenceBatchEntry> batch,
                                std::span<const DeviceSamplingRequest> requests, std::span<SampledToken> tokens) {
    (void)batch, (void)requests, (void)tokens;
    CHECK(false) << "ForwardAndSample on a backend that does not sample on its device";
  }
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_MODEL_RUNNER_H_
