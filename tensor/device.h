#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

namespace subtb {

enum class DeviceType : uint8_t { cpu, cuda };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;

  constexpr Device() = default;
  constexpr Device(DeviceType t, int i = 0) : type(t), index(i) {}
  // Parses "cpu", "cuda" or "cuda:N"; throws subtb::Error on anything else.
  static Device parse(std::string_view text);

  constexpr bool is_cpu() const { return type == DeviceType::cpu; }
  constexpr bool is_cuda() const { return type == DeviceType::cuda; }
  constexpr bool operator==(const Device&) const = default;
  std::string to_string() const;
};

inline constexpr Device kCPU{DeviceType::cpu, 0};
inline constexpr Device cuda_device(int index = 0) { return {DeviceType::cuda, index}; }

inline std::ostream& operator<<(std::ostream& os, const Device& d) { return os << d.to_string(); }

}  // namespace subtb
