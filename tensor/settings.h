#pragma once
// Process-wide switches for the CUDA kernels: each trades a property of the results for
// speed, so each is off by default and switched on by the user who wants the trade.
namespace subtb {

// f32 matmuls on CUDA may use TF32 tensor cores (10-bit mantissas for the products, f32
// accumulation): several times faster, at about 1e-3 relative error. Default: off.
void set_allow_tf32(bool allow);
bool allow_tf32();

// Accumulating CUDA kernels (scatter_add, index_add) give the same bits on every run: each
// output adds its sources in index order instead of through atomics, in whatever order
// the threads arrive. Default: off (atomics are faster). The CPU is always deterministic.
void set_deterministic(bool deterministic);
bool deterministic();

}  // namespace subtb
