#include "tests/support/test_util.h"

#include <cmath>
#include <sstream>

#include "kernels/backend.h"

namespace subtb::testing {

void PrintTo(const DeviceDType& p, std::ostream* os) { *os << p.device << "/" << p.dtype; }

std::string param_name(const ::testing::TestParamInfo<DeviceDType>& info) {
  return std::string(info.param.device.is_cpu() ? "cpu" : "cuda") + "_" + std::string(dtype_name(info.param.dtype));
}

std::vector<DeviceDType> devices_and(const std::vector<DType>& dtypes) {
  std::vector<DeviceDType> out;
  for (Device d : {kCPU, cuda_device(0)})
    for (DType t : dtypes) out.push_back({d, t});
  return out;
}

bool device_available(Device d) { return d.is_cpu() || d.index < cuda_device_count(); }

double tolerance(DType dtype) {
  switch (dtype) {
    case DType::f64: return 1e-12;
    case DType::f32: return 1e-5;
    case DType::bf16: return 2e-2;
    case DType::f16: return 2e-3;
    default: return 0.0;
  }
}

Tensor make(const std::vector<double>& v, const Shape& shape, DeviceDType p) {
  return from_vector<double>(v, shape).to(p.dtype).to(p.device);
}

Tensor random_input(const Shape& shape, DeviceDType p, uint64_t seed, double scale, double shift) {
  Generator gen(seed);
  return add(mul(randn(shape, DType::f64, kCPU, &gen), scale), shift).to(p.dtype).to(p.device);
}

std::vector<double> values(const Tensor& t) { return t.to(kCPU).to(DType::f64).contiguous().to_vector<double>(); }

::testing::AssertionResult all_close(const Tensor& actual, const std::vector<double>& expected, double atol,
                                     double rtol) {
  const std::vector<double> a = values(actual);
  if (a.size() != expected.size())
    return ::testing::AssertionFailure() << "size " << a.size() << " != expected " << expected.size() << " for "
                                         << describe(actual);
  std::ostringstream bad;
  int n_bad = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double x = a[i], y = expected[i];
    bool ok;
    if (std::isnan(y)) ok = std::isnan(x);
    else if (std::isinf(y)) ok = x == y;
    else ok = std::abs(x - y) <= atol + rtol * std::abs(y);
    if (!ok && n_bad++ < 5) bad << "  [" << i << "] " << x << " vs expected " << y << "\n";
  }
  if (n_bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << n_bad << " of " << a.size() << " elements of " << describe(actual)
                                       << " differ (atol " << atol << ", rtol " << rtol << "):\n"
                                       << bad.str();
}

::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double atol, double rtol) {
  if (!(actual.shape() == expected.shape()))
    return ::testing::AssertionFailure() << "shape " << actual.shape() << " != expected " << expected.shape();
  return all_close(actual, values(expected), atol, rtol);
}

::testing::AssertionResult gradcheck_ok(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                        const std::vector<Tensor>& inputs,
                                        const autograd::GradcheckOptions& options) {
  const autograd::GradcheckResult r = autograd::gradcheck(f, inputs, options);
  if (r.ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "gradcheck failed:\n" << r.report;
}

}  // namespace subtb::testing
