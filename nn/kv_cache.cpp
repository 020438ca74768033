#include "nn/kv_cache.h"

#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace subtb::nn {

namespace {

void check_valid(const Tensor& valid, int64_t B, int64_t T, const char* op) {
  if (!valid.defined()) return;
  SUBTB_CHECK(valid.dtype() == DType::b8 && valid.dim() == 2 && valid.shape()[0] == B && valid.shape()[1] == T, op,
              ": the validity mask ", describe(valid), " is not bool [", B, ", ", T, "]");
}

}  // namespace

Tensor token_positions(const Tensor& valid, int64_t B, int64_t T, const std::vector<int64_t>& earlier) {
  check_valid(valid, B, T, "token_positions");
  SUBTB_CHECK(earlier.empty() || static_cast<int64_t>(earlier.size()) == B, "token_positions: ", earlier.size(),
              " earlier counts for a batch of ", B);
  const std::vector<bool> real = valid.defined() ? valid.to_vector<bool>() : std::vector<bool>();
  std::vector<int64_t> positions(static_cast<size_t>(B * T));
  for (int64_t b = 0; b < B; ++b) {
    int64_t count = earlier.empty() ? 0 : earlier[b];
    for (int64_t t = 0; t < T; ++t) {
      const bool is_real = real.empty() || real[b * T + t];
      positions[b * T + t] = is_real ? count : std::max<int64_t>(count - 1, 0);
      count += is_real;
    }
  }
  return from_vector(positions, Shape{B, T}, valid.defined() ? valid.device() : kCPU);
}

KVCache::KVCache(int64_t n_layers, int64_t batch, int64_t n_kv_heads, int64_t max_len, int64_t head_dim, DType dtype,
                 Device device) {
  SUBTB_CHECK(n_layers > 0 && batch > 0 && n_kv_heads > 0 && max_len > 0 && head_dim > 0,
              "KVCache: every size must be positive, got n_layers ", n_layers, ", batch ", batch, ", n_kv_heads ",
              n_kv_heads, ", max_len ", max_len, ", head_dim ", head_dim);
  for (int64_t l = 0; l < n_layers; ++l) {
    keys_.push_back(zeros(Shape{batch, n_kv_heads, max_len, head_dim}, dtype, device));
    values_.push_back(zeros(Shape{batch, n_kv_heads, max_len, head_dim}, dtype, device));
  }
  valid_ = zeros(Shape{batch, max_len}, DType::b8, device);
  real_tokens_.assign(static_cast<size_t>(batch), 0);
}

Tensor KVCache::positions_for(const Tensor& new_valid, int64_t T) const {
  return token_positions(new_valid, batch(), T, real_tokens_).to(valid_.device());
}

Tensor KVCache::extend_mask(const Tensor& new_valid, int64_t T) {
  SUBTB_CHECK(T > 0 && length_ + T <= max_len(), "KVCache: ", T, " new columns do not fit: ", length_, " of ",
              max_len(), " are filled");
  check_valid(new_valid, batch(), T, "KVCache");
  Tensor columns = valid_.narrow(1, length_, T);
  if (new_valid.defined()) {
    columns.copy_(new_valid);
    const std::vector<bool> real = new_valid.to_vector<bool>();
    for (int64_t b = 0; b < batch(); ++b)
      for (int64_t t = 0; t < T; ++t) real_tokens_[b] += real[b * T + t];
  } else {
    columns.fill_(1.0);
    for (int64_t& count : real_tokens_) count += T;
  }
  return valid_.narrow(1, 0, length_ + T);
}

std::pair<Tensor, Tensor> KVCache::append(int64_t layer, const Tensor& k, const Tensor& v) {
  SUBTB_CHECK(layer >= 0 && layer < n_layers(), "KVCache: layer ", layer, " of ", n_layers());
  const Tensor& keys = keys_[layer];
  const Shape& s = keys.shape();
  SUBTB_CHECK(k.dim() == 4 && k.shape() == v.shape() && k.shape()[0] == s[0] && k.shape()[1] == s[1] &&
                  k.shape()[3] == s[3] && k.dtype() == keys.dtype() && v.dtype() == keys.dtype(),
              "KVCache: keys ", describe(k), " and values ", describe(v), " do not fit the cache's ", describe(keys));
  const int64_t T = k.shape()[2];
  SUBTB_CHECK(length_ + T <= max_len(), "KVCache: ", T, " new columns do not fit: ", length_, " of ", max_len(),
              " are filled");
  NoGradGuard no_grad;
  keys_[layer].narrow(2, length_, T).copy_(k);
  values_[layer].narrow(2, length_, T).copy_(v);
  return {keys_[layer].narrow(2, 0, length_ + T), values_[layer].narrow(2, 0, length_ + T)};
}

void KVCache::advance(int64_t T) {
  SUBTB_CHECK(T >= 0 && length_ + T <= max_len(), "KVCache: cannot advance by ", T, " from ", length_, " of ",
              max_len());
  length_ += T;
}

void KVCache::reset() {
  valid_.zero_();
  real_tokens_.assign(real_tokens_.size(), 0);
  length_ = 0;
}

}  // namespace subtb::nn
