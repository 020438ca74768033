// The action parser: RL4VLM's rule plus case, overlap and robustness.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "envs/vlm/action_parser.h"

namespace subtb::vlm {
namespace {

const std::vector<std::string> numberline = {"-", "+"};
const std::vector<std::string> blackjack = {"stand", "hit"};
const std::vector<std::string> ezpoints = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "+", "*", "="};
const std::vector<std::string> household = {"go to cabinet 1", "go to cabinet 10", "open cabinet 1", "look"};

std::size_t parsed(std::string_view text, const std::vector<std::string>& actions) {
  const ParsedAction p = parse_action(text, actions);
  EXPECT_TRUE(p.ok()) << "'" << text << "': " << to_string(p.status);
  return p.index;
}

ParseStatus status(std::string_view text, const std::vector<std::string>& actions) {
  return parse_action(text, actions).status;
}

TEST(ActionParser, ReadsTheJsonAnswer) {
  EXPECT_EQ(parsed(R"({"current number": "3", "target number": "5", "thoughts": "3 < 5, add one", "action": "+"})",
                   numberline),
            1u);
  EXPECT_EQ(parsed(R"({"thoughts": "I have 15 - risky", "action": "-"})", numberline), 0u);
  EXPECT_EQ(parsed("{\n\"thoughts\": \"hit or stand? stand.\",\n\"action\": \"hit\"\n}", blackjack), 1u);
}

TEST(ActionParser, IgnoresWhatComesBeforeTheActionKey) {
  // The thoughts name both actions; only the text after "action": counts.
  EXPECT_EQ(parsed(R"({"thoughts": "hit or stand", "action" : "stand"})", blackjack), 0u);
  // A key "action" without a colon is not the key.
  EXPECT_EQ(parsed(R"(the "action" is... "action":"hit")", blackjack), 1u);
}

TEST(ActionParser, IsCaseInsensitive) {
  EXPECT_EQ(parsed(R"({"ACTION": "STAND"})", blackjack), 0u);
  EXPECT_EQ(parsed(R"({"Action": "Hit"})", blackjack), 1u);
  EXPECT_EQ(parsed("\"action\": \"[done]\"", std::vector<std::string>{"stand", "hit", "[DONE]"}), 2u);
}

TEST(ActionParser, LongerActionsHideTheirSubstrings) {
  EXPECT_EQ(parsed(R"({"action": "10"})", ezpoints), 9u);
  EXPECT_EQ(parsed(R"({"action": "1"})", ezpoints), 0u);
  EXPECT_EQ(parsed(R"("action": "go to cabinet 10")", household), 1u);
  EXPECT_EQ(parsed(R"("action": "go to cabinet 1")", household), 0u);
  // "1" next to "10" is a second action.
  EXPECT_EQ(status(R"("action": "10 or 1")", ezpoints), ParseStatus::ambiguous);
}

TEST(ActionParser, EmptyAndActionlessTextIsInvalid) {
  EXPECT_EQ(status("", blackjack), ParseStatus::no_action);
  EXPECT_EQ(status(R"({"thoughts": "hmm", "action": ""})", blackjack), ParseStatus::no_action);
  EXPECT_EQ(status("I am not sure what to do", numberline), ParseStatus::no_action);
  EXPECT_EQ(parse_action("\"action\": \"x\"", std::vector<std::string>{}).status, ParseStatus::no_action);
}

TEST(ActionParser, TruncatedOutputs) {
  // Cut before the action's value: nothing to read.
  EXPECT_EQ(status(R"({"thoughts": "I should hit", "act)", blackjack), ParseStatus::no_action);
  EXPECT_EQ(status(R"({"thoughts": "x", "action": )", blackjack), ParseStatus::no_action);
  // Cut inside the value's closing quote: still one action.
  EXPECT_EQ(parsed(R"({"thoughts": "x", "action": "sta)", std::vector<std::string>{"sta", "hit"}), 0u);
  EXPECT_EQ(parsed(R"({"thoughts": "x", "action": "hit)", blackjack), 1u);
}

TEST(ActionParser, TextWithoutTheActionKeyIsInvalid) {
  EXPECT_EQ(status("I will stand.", blackjack), ParseStatus::no_action);
  EXPECT_EQ(status("HIT", blackjack), ParseStatus::no_action);
  EXPECT_EQ(status(R"({"thoughts": "hit", "actions": "hit"})", blackjack), ParseStatus::no_action);
  // Not JSON, but the key is there.
  EXPECT_EQ(parsed("action... \"action\" : hit!", blackjack), 1u);
}

TEST(ActionParser, MultipleActionsAreAmbiguous) {
  EXPECT_EQ(status(R"({"action": "+", "current number": "-1"})", numberline), ParseStatus::ambiguous);
  EXPECT_EQ(status(R"({"action": "hit or stand"})", blackjack), ParseStatus::ambiguous);
  // The same action twice is still one action.
  EXPECT_EQ(parsed(R"({"action": "hit", "note": "hit"})", blackjack), 1u);
  // Actions that differ only in case are one action.
  EXPECT_EQ(parsed("\"action\": hit", std::vector<std::string>{"Hit", "hit"}), 0u);
}

TEST(ActionParser, FuzzedBytesNeverCrash) {
  std::mt19937_64 rng(2024);
  const std::vector<std::string> vocab[] = {numberline, blackjack, ezpoints, household};
  const std::string pieces[] = {"\"action\"", ":", "hit", "stand", "10", "1", "+", "-", "[DONE]", "{", "}", " "};
  int ok = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    const int length = static_cast<int>(rng() % 64);
    for (int k = 0; k < length; ++k) {
      // Half raw bytes (any value, NUL and invalid UTF-8 included), half pieces that
      // look like answers.
      if (rng() % 2) {
        text.push_back(static_cast<char>(rng() % 256));
      } else {
        text += pieces[rng() % std::size(pieces)];
      }
    }
    const auto& actions = vocab[i % 4];
    const ParsedAction p = parse_action(text, actions);
    if (p.ok()) {
      ASSERT_LT(p.index, actions.size());
      ++ok;
    }
  }
  EXPECT_GT(ok, 0);
}

}  // namespace
}  // namespace subtb::vlm
