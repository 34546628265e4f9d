#include "loadtest/presets.h"

namespace glaserve::loadtest {

const std::vector<Preset>& Presets() {
  static const std::vector<Preset>* presets = new std::vector<Preset>{
      {"ci", "tiny smoke load for CI", {64}, 0, 16, 2, 8},
      {"chat", "short chat turns", {1024}, 0.5, 256, 16, 200},
      {"long-8k", "8K-token prompts", {8192}, 0, 256, 8, 64},
      {"long-32k", "32K-token prompts", {32768}, 0, 256, 4, 32},
      {"long-128k", "128K-token prompts", {131072}, 0, 256, 2, 16},
      // ITL by prompt length is the GLA claim: it should not grow with the context.
      {"long-mix", "prompts of 1K, 8K, 32K and 128K tokens mixed", {1024, 8192, 32768, 131072}, 0, 256, 4, 32},
  };
  return *presets;
}

const Preset* FindPreset(const std::string& name) {
  for (const Preset& preset : Presets()) {
    if (preset.name == name) return &preset;
  }
  return nullptr;
}

}  // namespace glaserve::loadtest
