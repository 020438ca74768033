#include <iostream>

#include "tensor/ops.h"

int main() {
  subtb::Tensor x = subtb::ones({2, 3});
  std::cout << (x + x) << "\n";
  return 0;
}
