#pragma once
// Shared test helpers: the device x dtype parameter space, tolerance comparisons against
// f64 references, and error-message assertions.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "tensor/ops.h"

namespace subtb::testing {

// One point of the parameter space every op test runs over.
struct DeviceDType {
  Device device;
  DType dtype;
};
void PrintTo(const DeviceDType& p, std::ostream* os);
std::string param_name(const ::testing::TestParamInfo<DeviceDType>& info);

// cpu and cuda:0, each with the given dtypes. CUDA cases exist in every build and skip
// where no GPU is present (SUBTB_SKIP_WITHOUT_DEVICE).
std::vector<DeviceDType> devices_and(const std::vector<DType>& dtypes);
inline std::vector<DeviceDType> float_params() { return devices_and({DType::f32, DType::f64}); }
inline std::vector<DeviceDType> all_float_params() {
  return devices_and({DType::f32, DType::f64, DType::bf16, DType::f16});
}

bool device_available(Device d);
#define SUBTB_SKIP_WITHOUT_DEVICE(dev)                                      \
  do {                                                                      \
    if (!::subtb::testing::device_available(dev)) GTEST_SKIP() << "no " << (dev) << " here"; \
  } while (0)

// Absolute tolerance appropriate for comparing a result in `dtype` to an f64 reference
// of magnitude ~1.
double tolerance(DType dtype);

// Elementwise |actual - expected| <= atol + rtol * |expected|, NaN matching NaN and
// infinities matching exactly; reports the first few mismatches with their indices.
::testing::AssertionResult all_close(const Tensor& actual, const std::vector<double>& expected,
                                     double atol, double rtol = 0.0);
::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double atol,
                                     double rtol = 0.0);

// A tensor of p's dtype and device holding the given values.
Tensor make(const std::vector<double>& values, const Shape& shape, DeviceDType p);
// Normal(shift, scale^2) values drawn in f64 from a seeded generator, then converted to
// p's dtype and moved to p's device: the same numbers on every device.
Tensor random_input(const Shape& shape, DeviceDType p, uint64_t seed, double scale = 2.0, double shift = 0.0);

// The tensor's values as f64 on the host, row-major.
std::vector<double> values(const Tensor& t);

// gradcheck that reports its per-input errors on failure.
::testing::AssertionResult gradcheck_ok(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                        const std::vector<Tensor>& inputs,
                                        const autograd::GradcheckOptions& options = {});

}  // namespace subtb::testing

// Asserts that `stmt` throws subtb::Error whose message contains every given substring.
#define EXPECT_THROW_MSG(stmt, ...)                                                           \
  do {                                                                                        \
    bool subtb_thrown_ = false;                                                               \
    try {                                                                                     \
      stmt;                                                                                   \
    } catch (const ::subtb::Error& e) {                                                       \
      subtb_thrown_ = true;                                                                   \
      const std::string subtb_msg_ = e.what();                                                \
      for (const std::string& subtb_part_ : std::vector<std::string>{__VA_ARGS__})            \
        EXPECT_NE(subtb_msg_.find(subtb_part_), std::string::npos)                            \
            << "message \"" << subtb_msg_ << "\" lacks \"" << subtb_part_ << "\"";           \
    }                                                                                         \
    EXPECT_TRUE(subtb_thrown_) << #stmt " did not throw subtb::Error";                       \
  } while (0)
