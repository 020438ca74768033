// CPU kernels not written yet: each throws until its family's file defines it.
#include "kernels/cpu/cpu_backend.h"

namespace subtb::cpu {


}  // namespace subtb::cpu
