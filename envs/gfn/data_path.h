#pragma once
// Finding the repository's data files (data/<name>) at run time, wherever the binary
// runs from: $SUBTB_DATA_DIR first, then data/ in the working directory or any of its
// parents, then data/ beside the executable or in any of its parents (a build tree
// inside the repository finds the repository's data/).
#include <string>
#include <string_view>

namespace subtb::gfn {

// The path of data file `name`; throws naming every place it looked.
std::string find_data_file(std::string_view name);

}  // namespace subtb::gfn
