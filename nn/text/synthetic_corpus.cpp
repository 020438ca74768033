#include "nn/text/synthetic_corpus.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <random>
#include <span>
#include <string_view>
#include <vector>

namespace subtb::nn {

namespace {

constexpr std::array<std::string_view, 20> kSmallNumbers{
    "zero", "one",    "two",    "three",    "four",     "five",    "six",     "seven",     "eight",    "nine",
    "ten",  "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
constexpr std::array<std::string_view, 10> kTens{"",      "",      "twenty",  "thirty", "forty",
                                                 "fifty", "sixty", "seventy", "eighty", "ninety"};

constexpr std::array<std::string_view, 13> kRanks{"ace",   "two",  "three", "four", "five",  "six", "seven",
                                                  "eight", "nine", "ten",   "jack", "queen", "king"};
constexpr std::array<std::string_view, 4> kSuits{"hearts", "diamonds", "clubs", "spades"};

// The receptacles of each room, ALFWorld's names.
constexpr std::array<std::string_view, 9> kKitchen{"cabinet",   "countertop",  "drawer",      "fridge",    "microwave",
                                                   "sinkbasin", "stoveburner", "diningtable", "garbagecan"};
constexpr std::array<std::string_view, 7> kLivingRoom{"sofa",  "armchair", "coffeetable", "sidetable",
                                                      "shelf", "tvstand",  "garbagecan"};
constexpr std::array<std::string_view, 7> kBedroom{"bed",   "desk",      "dresser",   "drawer",
                                                   "shelf", "sidetable", "garbagecan"};
constexpr std::array<std::string_view, 5> kBathroom{"sinkbasin", "cabinet", "countertop", "towelholder", "garbagecan"};
struct Room {
  std::string_view name;
  std::span<const std::string_view> receptacles;
};
constexpr std::array<Room, 4> kRooms{
    {{"kitchen", kKitchen}, {"living room", kLivingRoom}, {"bedroom", kBedroom}, {"bathroom", kBathroom}}};
constexpr std::array<std::string_view, 4> kOpenable{"cabinet", "drawer", "fridge", "microwave"};
constexpr std::array<std::string_view, 24> kObjects{
    "apple", "book",      "bowl", "bread", "candle", "cup",   "egg", "fork",   "kettle", "knife",  "laptop", "lettuce",
    "mug",   "newspaper", "pan",  "pen",   "pillow", "plate", "pot", "potato", "spoon",  "tomato", "towel",  "vase"};

struct Treatment {
  std::string_view verb;  // what is done to an object
  std::string_view tool;  // the receptacle it is done with
  std::string_view result;
};
constexpr std::array<Treatment, 3> kTreatments{
    {{"heat", "microwave", "hot"}, {"cool", "fridge", "cold"}, {"clean", "sinkbasin", "clean"}}};

// Writes the paragraphs. Every draw goes through rng_ in a fixed order, and
// std::mt19937_64's sequence is fixed by the standard, so a seed fixes the text.
class Writer {
 public:
  explicit Writer(std::uint64_t seed) : rng_(seed) {}

  std::string run(std::size_t min_bytes) {
    using Topic = void (Writer::*)();
    constexpr std::array<Topic, 6> topics{&Writer::arithmetic, &Writer::number_line, &Writer::blackjack,
                                          &Writer::points,     &Writer::household,   &Writer::json_answer};
    while (text_.size() < min_bytes) {
      words_ = coin();
      (this->*topics[below(topics.size())])();
      text_ += "\n\n";
    }
    return std::move(text_);
  }

 private:
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }
  int between(int lo, int hi) { return lo + static_cast<int>(below(static_cast<std::size_t>(hi - lo + 1))); }
  bool coin() { return below(2) == 0; }
  std::string_view pick(std::span<const std::string_view> items) { return items[below(items.size())]; }

  static std::string in_words(int n) {
    if (n < 20) return std::string(kSmallNumbers[static_cast<std::size_t>(n)]);
    std::string out(kTens[static_cast<std::size_t>(n / 10)]);
    if (n % 10) out += "-" + std::string(kSmallNumbers[static_cast<std::size_t>(n % 10)]);
    return out;
  }
  // In words below a hundred in half the paragraphs. No draw here: the operands of a
  // string expression are evaluated in an unspecified order, so every draw is made in a
  // statement of its own.
  std::string number(int n) const { return words_ && n >= 0 && n < 100 ? in_words(n) : std::to_string(n); }
  static std::string with_article(std::string_view noun) {
    const bool vowel = std::string_view("aeiou").find(noun[0]) != std::string_view::npos;
    return (vowel ? "an " : "a ") + std::string(noun);
  }

  // Appends a sentence: a space before it inside a paragraph, the first letter capital.
  void say(std::string sentence) {
    if (!text_.empty() && text_.back() != '\n') text_ += ' ';
    if (sentence[0] >= 'a' && sentence[0] <= 'z') sentence[0] = static_cast<char>(sentence[0] - 'a' + 'A');
    text_ += sentence;
  }

  void arithmetic() {
    for (int i = between(3, 5); i > 0; --i) {
      const int a = between(0, 20), b = between(0, 20);
      switch (below(5)) {
        case 0:
          say(number(a) + " plus " + number(b) + " is " + number(a + b) + ".");
          break;
        case 1:
          say(number(std::max(a, b)) + " minus " + number(std::min(a, b)) + " is " + number(std::abs(a - b)) + ".");
          break;
        case 2: {
          const int x = a % 10 + 1, y = b % 10 + 1;
          say(number(x) + " times " + number(y) + " equals " + number(x * y) + ".");
          break;
        }
        case 3:
          say(a == b ? number(a) + " and " + number(b) + " are equal."
                     : number(a) + " is " + (a < b ? "smaller" : "larger") + " than " + number(b) + ".");
          break;
        default: {
          std::string count = "counting from " + number(a) + " to " + number(a + 4) + ": ";
          for (int k = a; k <= a + 4; ++k) count += std::to_string(k) + (k < a + 4 ? ", " : ".");
          say(count);
        }
      }
    }
  }

  void number_line() {
    int at = between(0, 9);
    const int target = between(0, 9);
    say("the marker is at " + number(at) + " on the number line, and the target is " + number(target) + ".");
    while (at != target) {
      const bool up = at < target;
      say(number(at) + " is " + (up ? "smaller" : "larger") + " than " + number(target) + ", so I " +
          (up ? "add one" : "take one away") + " and the marker moves to " + number(at + (up ? 1 : -1)) + ".");
      at += up ? 1 : -1;
    }
    say("now the marker is at the target, so the task is complete.");
  }

  std::string card(int& value) {
    const std::size_t rank = below(kRanks.size());
    value = rank == 0 ? 11 : std::min(static_cast<int>(rank) + 1, 10);
    return "the " + std::string(kRanks[rank]) + " of " + std::string(pick(kSuits));
  }

  void blackjack() {
    int dealer, first, second;
    const std::string up_card = card(dealer);
    say("the dealer shows " + up_card + ".");
    const std::string a = card(first), b = card(second);
    // Aces count eleven until that would go over twenty-one.
    int total = first + second, soft_aces = (first == 11) + (second == 11);
    const auto settle = [&] {
      while (total > 21 && soft_aces > 0) total -= 10, --soft_aces;
    };
    settle();
    say("I hold " + a + " and " + b + ", which count " + number(total) + ".");
    while (total < 17) {
      int value;
      const std::string drawn = card(value);
      total += value;
      soft_aces += value == 11;
      settle();
      say("with less than seventeen I hit and draw " + drawn + ", so my total is " + number(total) + ".");
    }
    say(total > 21 ? "that is more than twenty-one, so I bust and lose the hand."
                   : "with " + number(total) + " I stand, and the dealer plays.");
  }

  void points() {
    int a, b;
    const std::string first = card(a), second = card(b);
    a = a == 11 ? 1 : a;  // in the points games an ace counts one
    b = b == 11 ? 1 : b;
    say("the cards are " + first + " and " + second + ", worth " + number(a) + " and " + number(b) + ".");
    say(std::to_string(a) + " + " + std::to_string(b) + " = " + std::to_string(a + b) + ", and " + std::to_string(a) +
        " * " + std::to_string(b) + " = " + std::to_string(a * b) + ".");
    if (a + b == 12 || a * b == 12) {
      say("so the formula " + std::to_string(a) + (a + b == 12 ? " + " : " * ") + std::to_string(b) + " makes twelve.");
    } else {
      say("neither formula makes twelve, so these cards cannot reach the target.");
    }
  }

  // `count` distinct indices below n, in random order.
  std::vector<std::size_t> distinct(std::size_t n, std::size_t count) {
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    for (std::size_t i = 0; i < count; ++i) std::swap(order[i], order[i + below(n - i)]);
    order.resize(count);
    return order;
  }
  std::string numbered(std::string_view noun) {
    const int n = between(1, 2);
    return std::string(noun) + " " + std::to_string(n);
  }
  static bool openable(std::string_view receptacle) {
    return std::find(kOpenable.begin(), kOpenable.end(), receptacle) != kOpenable.end();
  }
  static std::string_view preposition(std::string_view receptacle) {
    return openable(receptacle) || receptacle == "sinkbasin" || receptacle == "garbagecan" ? "in" : "on";
  }

  void household() {
    const Room& room = kRooms[below(kRooms.size())];
    const std::vector<std::size_t> seen = distinct(room.receptacles.size(), static_cast<std::size_t>(between(2, 4)));
    std::vector<std::string> names;
    std::string look = "you are in the " + std::string(room.name) + ". Looking around, you see ";
    for (std::size_t i = 0; i < seen.size(); ++i) {
      names.push_back(numbered(room.receptacles[seen[i]]));
      look += (i == 0 ? "" : i + 1 < seen.size() ? ", " : " and ") + with_article(names.back());
    }
    say(look + ".");

    const std::size_t at = below(seen.size());
    const std::string_view receptacle = room.receptacles[seen[at]];
    say("you go to the " + names[at] + ".");
    if (openable(receptacle)) say("the " + names[at] + " is closed. You open it.");
    const std::vector<std::size_t> objects = distinct(kObjects.size(), 2);
    const std::string object_id = numbered(kObjects[objects[0]]);
    const std::string other_id = numbered(kObjects[objects[1]]);
    say(std::string(preposition(receptacle)) + " it, you see " + with_article(object_id) + " and " +
        with_article(other_id) + ".");
    say("you take the " + object_id + " from the " + names[at] + ".");
    if (room.name == "kitchen" && coin()) {
      const Treatment& t = kTreatments[below(kTreatments.size())];
      say("you go to the " + std::string(t.tool) + " 1 and " + std::string(t.verb) + " the " + object_id +
          " with it. Now the " + std::string(kObjects[objects[0]]) + " is " + std::string(t.result) + ".");
    }
    const std::size_t goal = (at + 1 + below(seen.size() - 1)) % seen.size();
    say("you put the " + object_id + " " + std::string(preposition(room.receptacles[seen[goal]])) + " the " +
        names[goal] + ".");
  }

  void json_answer() {
    const int current = between(0, 9), target = between(0, 9);
    const std::string c = std::to_string(current), t = std::to_string(target);
    std::string thoughts = "The current number is " + c + " and the target number is " + t + ". ";
    std::string action;
    if (current == target) {
      thoughts += "They are equal, so the task is complete.";
      action = "[DONE]";
    } else {
      const bool up = current < target;
      thoughts += c + (up ? " is smaller than " : " is larger than ") + t +
                  (up ? ", so I should add one to the current number." : ", so I should subtract one.");
      action = up ? "+" : "-";
    }
    say("{\"current number\": " + c + ", \"target number\": " + t + ", \"thoughts\": \"" + thoughts +
        "\", \"action\": \"" + action + "\"}");
  }

  std::mt19937_64 rng_;
  std::string text_;
  bool words_ = false;  // numbers in words in this paragraph
};

}  // namespace

std::string synthetic_corpus(std::uint64_t seed, std::size_t min_bytes) { return Writer(seed).run(min_bytes); }

}  // namespace subtb::nn
