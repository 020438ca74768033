#pragma once
// Every op front end. Each family lives in tensor/ops/<family>.h with its vjps in the
// matching .cpp; kernels are in kernels/<backend>/.
#include "tensor/ops/attention.h"
#include "tensor/ops/conv.h"
#include "tensor/ops/creation.h"
#include "tensor/ops/elementwise.h"
#include "tensor/ops/indexing.h"
#include "tensor/ops/linalg.h"
#include "tensor/ops/nn.h"
#include "tensor/ops/random.h"
#include "tensor/ops/reduce.h"
#include "tensor/ops/views.h"
#include "tensor/tensor.h"
