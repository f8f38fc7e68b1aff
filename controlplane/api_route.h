// One route of a part of the control plane's HTTP API, as that part's route_of(path
// segments) names it: the name is the metrics label of the route, `allow` the methods it
// serves (the Allow header of a 405 answer). The server (api.cpp) asks each part in turn.
#pragma once

#include <string>

namespace hisgate::controlplane {

struct ApiRoute {
    std::string name;
    const char* allow;
};

}  // namespace hisgate::controlplane
