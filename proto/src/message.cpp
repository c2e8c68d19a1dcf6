#include "picket/proto/message.h"

namespace picket::proto {

std::string_view to_string(Evidence e) {
    switch (e) {
        case Evidence::kNone:
            return "none";
        case Evidence::kDead:
            return "dead";
        case Evidence::kUnresponsive:
            return "unresponsive";
    }
    return "?";
}

std::string_view to_string(FailoverMode m) {
    switch (m) {
        case FailoverMode::kForce:
            return "FORCE";
        case FailoverMode::kTakeover:
            return "TAKEOVER";
    }
    return "?";
}

std::string_view to_string(RecordPhase p) {
    switch (p) {
        case RecordPhase::kDecided:
            return "decided";
        case RecordPhase::kCommandSent:
            return "command-sent";
        case RecordPhase::kDone:
            return "done";
        case RecordPhase::kAborted:
            return "aborted";
    }
    return "?";
}

std::string_view to_string(MessageType t) {
    switch (t) {
        case MessageType::kPreVote:
            return "PREVOTE";
        case MessageType::kRequestVote:
            return "VOTE";
        case MessageType::kVoteReply:
            return "VOTEREPLY";
        case MessageType::kHeartbeat:
            return "HEARTBEAT";
        case MessageType::kHeartbeatReply:
            return "HBREPLY";
        case MessageType::kOpinion:
            return "OPINION";
    }
    return "?";
}

}  // namespace picket::proto
