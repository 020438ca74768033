#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "nn/text/synthetic_corpus.h"
#include "nn/tokenizer/pretokenize.h"
#include "nn/tokenizer/tokenizer.h"
#include "tests/nn/temp_dir.h"
#include "tests/support/test_util.h"

namespace subtb::nn {
namespace {

// A tokenizer trained once on the built-in corpus, shared by the tests that need merges.
const Tokenizer& corpus_tokenizer() {
  static const Tokenizer tokenizer = [] {
    const std::vector<std::string> texts{synthetic_corpus(1, 60'000)};
    return Tokenizer::train(texts, {.vocab_size = 600, .min_frequency = 2});
  }();
  return tokenizer;
}

std::string random_bytes(std::mt19937_64& rng, std::size_t max_length) {
  std::string out(rng() % (max_length + 1), '\0');
  for (char& c : out) c = static_cast<char>(rng() % 256);
  return out;
}

// BPE as its definition states it: over and over, find the adjacent pair with the
// lowest merge rank and merge all its occurrences left to right.
std::vector<std::int32_t> reference_encode(const Tokenizer& tok, std::string_view text) {
  std::vector<std::int32_t> out;
  const std::vector<BpeMerge>& merges = tok.merges();
  for (const std::string_view word : pretokenize(text)) {
    std::vector<std::int32_t> w(word.begin(), word.end());
    for (std::int32_t& t : w) t = static_cast<unsigned char>(t);
    while (true) {
      std::size_t best = merges.size();
      for (std::size_t i = 0; i + 1 < w.size(); ++i)
        for (std::size_t r = 0; r < best; ++r)
          if (merges[r] == BpeMerge{w[i], w[i + 1]}) best = r;
      if (best == merges.size()) break;
      std::vector<std::int32_t> next;
      for (std::size_t i = 0; i < w.size(); ++i) {
        if (i + 1 < w.size() && merges[best] == BpeMerge{w[i], w[i + 1]}) {
          next.push_back(tok.first_merge_id() + static_cast<std::int32_t>(best));
          ++i;
        } else {
          next.push_back(w[i]);
        }
      }
      w = std::move(next);
    }
    out.insert(out.end(), w.begin(), w.end());
  }
  return out;
}

TEST(Pretokenize, SplitsLettersDigitsPunctuationAndSpaces) {
  using namespace std::literals;
  const std::vector<std::string_view> expected{"Hello"sv, " world"sv,       "!"sv,   "  "sv, " ok"sv, "\n\n"sv, "123"sv,
                                               "45"sv,    " caf\xc3\xa9"sv, " \t"sv, "x"sv,  ".\0"sv, "end"sv,  " -"sv,
                                               " "sv,     " \xff"sv,        " "sv};
  EXPECT_EQ(pretokenize("Hello world!   ok\n\n12345 caf\xc3\xa9 \tx.\0end -  \xff "sv), expected);
}

TEST(Pretokenize, WordsTileEveryByteString) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 500; ++trial) {
    const std::string text = random_bytes(rng, 64);
    std::string joined;
    for (const std::string_view w : pretokenize(text)) {
      EXPECT_FALSE(w.empty());
      joined += w;
    }
    ASSERT_EQ(joined, text);
  }
}

TEST(Tokenizer, ByteLevelTokenizerEncodesBytesAsTheirValues) {
  const Tokenizer tok;
  EXPECT_EQ(tok.vocab_size(), 261);
  EXPECT_EQ(tok.encode(std::string("a\0\xff", 3)), (std::vector<std::int32_t>{97, 0, 255}));
  EXPECT_EQ(tok.special_id("<pad>"), kPadToken);
  EXPECT_EQ(tok.special_id("<bos>"), kBosToken);
  EXPECT_EQ(tok.special_id("<eos>"), kEosToken);
  EXPECT_EQ(tok.special_id("<image>"), kImageToken);
  EXPECT_EQ(tok.special_id("[DONE]"), kDoneToken);
  EXPECT_THROW_MSG(tok.special_id("<mask>"), "no special token \"<mask>\"", "<pad>");
}

TEST(Tokenizer, RoundTripsAnyByteString) {
  const Tokenizer& tok = corpus_tokenizer();
  const std::vector<std::string> cases{"",
                                       std::string(1, '\0'),
                                       std::string("\0\0 \0a\0", 6),
                                       "\xff\xfe\x80",              // never valid UTF-8
                                       "\xc3\x28 \xe2\x82",         // broken sequences
                                       "caf\xc3\xa9 na\xc3\xafve",  // valid UTF-8
                                       "The dealer shows the king of hearts.",
                                       std::string(5000, 'a'),
                                       "<bos><eos [DONE]<image>"};
  for (const std::string& text : cases) {
    EXPECT_EQ(tok.decode(tok.encode(text)), text);
    EXPECT_EQ(tok.decode(tok.encode(text, /*allow_special=*/true)), text);
  }
}

TEST(Tokenizer, FuzzRoundTripAndReferenceEncoding) {
  const Tokenizer& tok = corpus_tokenizer();
  const std::string corpus = synthetic_corpus(2, 20'000);
  const std::vector<std::string> pieces{"<bos>", "<eos>", "[DONE]", "<image>", "<pad>", "<", "[", "\n", " "};
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string text;
    for (int part = static_cast<int>(rng() % 5); part >= 0; --part) {
      switch (rng() % 3) {
        case 0:
          text += random_bytes(rng, 12);
          break;
        case 1: {
          const std::size_t start = rng() % corpus.size();
          text += corpus.substr(start, rng() % 40);
          break;
        }
        default:
          text += pieces[rng() % pieces.size()];
      }
    }
    const std::vector<std::int32_t> ids = tok.encode(text);
    ASSERT_EQ(tok.decode(ids), text);
    ASSERT_EQ(ids, reference_encode(tok, text));
    for (const std::int32_t id : ids) ASSERT_FALSE(tok.is_special(id));
    ASSERT_EQ(tok.decode(tok.encode(text, /*allow_special=*/true)), text);
  }
}

TEST(Tokenizer, EncodesTheSameFromManyThreads) {
  const Tokenizer tok = corpus_tokenizer();  // a copy: its word cache starts empty
  const std::string text = synthetic_corpus(7, 20'000);
  const std::vector<std::int32_t> expected = reference_encode(tok, text);
  std::vector<std::vector<std::int32_t>> results(4);
  std::vector<std::thread> threads;
  for (auto& result : results) threads.emplace_back([&] { result = tok.encode(text); });
  for (std::thread& t : threads) t.join();
  for (const auto& result : results) EXPECT_EQ(result, expected);
}

TEST(Tokenizer, AssignmentForgetsTheCachedWordsOfTheOldVocabulary) {
  Tokenizer tok;
  EXPECT_EQ(tok.encode(" the").size(), 4u);  // caches " the" as bytes
  tok = corpus_tokenizer();
  EXPECT_EQ(tok.encode(" the"), corpus_tokenizer().encode(" the"));
  EXPECT_EQ(tok.encode(" the").size(), 1u);
}

TEST(Tokenizer, CompressesTheTextItWasTrainedOn) {
  const Tokenizer& tok = corpus_tokenizer();
  EXPECT_EQ(tok.vocab_size(), 600);
  const std::string text = synthetic_corpus(3, 20'000);
  const double bytes_per_token = static_cast<double>(text.size()) / static_cast<double>(tok.encode(text).size());
  EXPECT_GT(bytes_per_token, 3.0);
}

TEST(Tokenizer, RepeatedWordBecomesOneToken) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += "banana split ";
  const Tokenizer tok = Tokenizer::train(std::vector<std::string>{text}, {.vocab_size = 400, .min_frequency = 2});
  EXPECT_EQ(tok.encode(" banana").size(), 1u);
  EXPECT_EQ(tok.encode(" split").size(), 1u);
  EXPECT_EQ(tok.encode("banana").size(), 1u);  // the first word has no space before it
  // Training ran out of pairs that occur twice long before 400 tokens.
  EXPECT_LT(tok.vocab_size(), 300);
  EXPECT_EQ(tok.token_bytes(tok.encode(" banana")[0]), " banana");
}

TEST(BpeTrainer, LearnsTheMostFrequentPairFirst) {
  // Pairs: ab 5+1, bc 5+2, cd 2. After "bc": a+bc 5, bc+d 2, ab 1.
  const WordCounts counts{{"abc", 5}, {"bcd", 2}, {"ab", 1}};
  const std::vector<BpeMerge> merges = learn_bpe_merges(counts, 300, 10, 2);
  const std::vector<BpeMerge> expected{{'b', 'c'}, {'a', 300}, {300, 'd'}};
  EXPECT_EQ(merges, expected);
  EXPECT_EQ(learn_bpe_merges(counts, 300, 1, 2), std::vector<BpeMerge>{expected[0]});
  // With min_frequency 1, "ab" (once) is merged too.
  EXPECT_EQ(learn_bpe_merges(counts, 300, 10, 1).size(), 4u);
}

TEST(BpeTrainer, BreaksTiesBySmallerPairAndMergesRunsLeftToRight) {
  EXPECT_EQ(learn_bpe_merges({{"cd", 1}, {"ab", 1}}, 256, 10, 1), (std::vector<BpeMerge>{{'a', 'b'}, {'c', 'd'}}));
  // "aaaaa" has the pair (a, a) four times; merging it gives aa aa a, then (aa, a) wins
  // its tie with (aa, aa).
  EXPECT_EQ(learn_bpe_merges({{"aaaaa", 1}}, 256, 10, 1), (std::vector<BpeMerge>{{'a', 'a'}, {256, 'a'}, {256, 257}}));
}

TEST(BpeTrainer, RejectsBadArguments) {
  EXPECT_THROW_MSG(learn_bpe_merges({}, 255, 1, 1), "first_id", "255");
  EXPECT_THROW_MSG(learn_bpe_merges({}, 256, -1, 1), "max_merges", "-1");
  EXPECT_THROW_MSG(learn_bpe_merges({}, 256, 1, 0), "min_frequency", "0");
}

TEST(Tokenizer, SpecialTokensEncodeToTheirIdsOnlyWhenAllowed) {
  const Tokenizer& tok = corpus_tokenizer();
  const std::vector<std::int32_t> ids = tok.encode("<bos><image>seven[DONE]<eos>", /*allow_special=*/true);
  ASSERT_GE(ids.size(), 5u);
  EXPECT_EQ(ids[0], kBosToken);
  EXPECT_EQ(ids[1], kImageToken);
  EXPECT_EQ(ids[ids.size() - 2], kDoneToken);
  EXPECT_EQ(ids.back(), kEosToken);
  EXPECT_EQ(tok.decode(std::vector<std::int32_t>(ids.begin() + 2, ids.end() - 2)), "seven");

  for (const std::int32_t id : tok.encode("<bos><image>seven[DONE]<eos>")) EXPECT_FALSE(tok.is_special(id));
}

TEST(Tokenizer, SpecialTokensMatchLongestFirstAndAreNeverLearned) {
  std::string text;
  for (int i = 0; i < 40; ++i) text += "<eos>seven<im>eight [DONE]";
  const Tokenizer tok =
      Tokenizer::train(std::vector<std::string>{text}, {.vocab_size = 400, .extra_special_tokens = {"<im>", "<i"}});
  EXPECT_EQ(tok.special_id("<im>"), 261);
  EXPECT_EQ(tok.special_id("<i"), 262);
  EXPECT_EQ(tok.encode("<image>", true), std::vector<std::int32_t>{kImageToken});
  EXPECT_EQ(tok.encode("<im>", true), std::vector<std::int32_t>{261});
  EXPECT_EQ(tok.encode("<imx", true)[0], 262);
  // Training cut the special tokens out of the text: no learned token holds one.
  for (std::int32_t id = tok.first_merge_id(); id < tok.vocab_size(); ++id)
    for (const std::string& special : tok.special_tokens())
      EXPECT_EQ(tok.token_bytes(id).find(special), std::string::npos) << tok.token_bytes(id);
}

TEST(Tokenizer, DecodeRejectsIdsOutOfRange) {
  const Tokenizer tok;
  EXPECT_THROW_MSG(tok.decode(std::vector<std::int32_t>{97, 261}), "token id 261 at position 1", "[0, 261)");
  EXPECT_THROW_MSG(tok.decode(std::vector<std::int32_t>{-1}), "token id -1");
}

TEST(Tokenizer, TrainRejectsBadOptions) {
  const std::vector<std::string> texts{"a b c"};
  EXPECT_THROW_MSG(Tokenizer::train(texts, {.vocab_size = 260}), "vocab_size 260", "(261)");
  EXPECT_THROW_MSG(Tokenizer::train(texts, {.min_frequency = 0}), "min_frequency");
  EXPECT_THROW_MSG(Tokenizer::train(texts, {.extra_special_tokens = {"<eos>"}}), "\"<eos>\" is listed twice");
  EXPECT_THROW_MSG(Tokenizer::train(texts, {.extra_special_tokens = {""}}), "empty");
  EXPECT_THROW_MSG(Tokenizer::train(texts, {.extra_special_tokens = {"\xff"}}), "not valid UTF-8");
  EXPECT_THROW_MSG(Tokenizer::train_files(std::vector<std::string>{"/nonexistent/corpus.txt"}, {}),
                   "cannot open '/nonexistent/corpus.txt'");
}

TEST(Tokenizer, ConstructorRejectsInconsistentMerges) {
  const std::vector<std::string> specials(kRequiredSpecialTokens.begin(), kRequiredSpecialTokens.end());
  EXPECT_THROW_MSG(Tokenizer(specials, {{'a', 261}}), "merge 0 (97, 261)", "token 261");
  EXPECT_THROW_MSG(Tokenizer(specials, {{'a', kEosToken}}), "token 258");
  EXPECT_THROW_MSG(Tokenizer(specials, {{'a', 'b'}, {'a', 'b'}}), "merge 1 (97, 98) repeats merge 0");
  EXPECT_THROW_MSG(Tokenizer({"<pad>", "<bos>"}, {}), "special token 258 must be \"<eos>\", got none");
}

class TokenizerFileTest : public testing::TempDirTest {};

TEST_F(TokenizerFileTest, SaveThenLoadEncodesIdentically) {
  const Tokenizer& tok = corpus_tokenizer();
  tok.save(path("tok.json"));
  EXPECT_EQ(listing(), std::vector<std::string>{"tok.json"});  // no temporary file left behind
  const Tokenizer loaded = Tokenizer::load(path("tok.json"));
  EXPECT_EQ(loaded.vocab_size(), tok.vocab_size());
  EXPECT_EQ(loaded.merges(), tok.merges());
  EXPECT_EQ(loaded.special_tokens(), tok.special_tokens());
  EXPECT_EQ(loaded.to_json(), read_bytes(path("tok.json")));
  const std::string text = synthetic_corpus(4, 5'000) + "<eos>\xff\xfe";
  EXPECT_EQ(loaded.encode(text), tok.encode(text));
  EXPECT_EQ(loaded.encode(text, true), tok.encode(text, true));
}

TEST_F(TokenizerFileTest, TrainsFromFiles) {
  write_bytes(path("a.txt"), "low lower lowest ");
  write_bytes(path("b.txt"), "low lower lowest ");
  const Tokenizer tok = Tokenizer::train_files(std::vector<std::string>{path("a.txt"), path("b.txt")}, {});
  EXPECT_EQ(tok.encode(" lower").size(), 1u);
}

TEST(TokenizerJson, ReadsTheDocumentedFormat) {
  const Tokenizer tok = Tokenizer::from_json(R"({"format": "subtb.bpe-tokenizer", "version": 1,
      "special_tokens": ["<pad>", "<bos>", "<eos>", "<image>", "[DONE]", "<sep>"],
      "merges": [[104, 105], [262, 262]]})");
  EXPECT_EQ(tok.vocab_size(), 264);
  EXPECT_EQ(tok.encode("hihi"), std::vector<std::int32_t>{263});
  EXPECT_EQ(tok.encode("hi!"), (std::vector<std::int32_t>{262, '!'}));  // merges stay inside words
  EXPECT_EQ(tok.special_id("<sep>"), 261);
  EXPECT_EQ(Tokenizer::from_json(tok.to_json()).merges(), tok.merges());
  EXPECT_EQ(Tokenizer::from_json(Tokenizer().to_json()).vocab_size(), 261);
}

TEST(TokenizerJson, ErrorsSayWhatIsWrong) {
  const std::string specials = R"("special_tokens": ["<pad>", "<bos>", "<eos>", "<image>", "[DONE]"])";
  const auto doc = [&](const std::string& fields) { return "{" + fields + "}"; };
  const std::string head = R"("format": "subtb.bpe-tokenizer", "version": 1, )";
  EXPECT_THROW_MSG(Tokenizer::from_json("{\"format\": ", "t.json"), "Tokenizer: t.json: not valid JSON");
  EXPECT_THROW_MSG(Tokenizer::from_json("[1, 2]"), "expected a JSON object, got array");
  EXPECT_THROW_MSG(
      Tokenizer::from_json(doc(R"("format": "subtb.bpe-tokenizer", "version": 2, )" + specials + R"(, "merges": [])")),
      "unsupported version 2", "reads version 1");
  EXPECT_THROW_MSG(Tokenizer::from_json(doc(R"("format": "gpt2", "version": 1, )" + specials + R"(, "merges": [])")),
                   "\"format\" is \"gpt2\"");
  EXPECT_THROW_MSG(Tokenizer::from_json(doc(head + specials)), "missing field \"merges\"");
  EXPECT_THROW_MSG(Tokenizer::from_json(doc(head + R"("merges": [])")), "missing field \"special_tokens\"");
  EXPECT_THROW_MSG(Tokenizer::from_json(doc(R"("format": "subtb.bpe-tokenizer", )" + specials + R"(, "merges": [])")),
                   "missing field \"version\"");
  EXPECT_THROW_MSG(Tokenizer::from_json(doc(head + specials + R"(, "merges": [], "vocab": 3)")),
                   "unexpected field \"vocab\"");
  EXPECT_THROW_MSG(Tokenizer::from_json(doc(head + specials + R"(, "merges": [[1, 2, 3]])")),
                   "merge 0 must be a pair of token ids", "[1,2,3]");
  EXPECT_THROW_MSG(Tokenizer::from_json(doc(head + specials + R"(, "merges": [[1, -2]])")), "merge 0 must be a pair");
  EXPECT_THROW_MSG(Tokenizer::from_json(doc(head + specials + R"(, "merges": [[1, 300]])"), "'x.json'"),
                   "Tokenizer: 'x.json': merge 0 (1, 300) refers to token 300");
  EXPECT_THROW_MSG(Tokenizer::from_json(doc(head + R"("special_tokens": ["<pad>", 3], "merges": [])")),
                   "special token 1 is not a string");
  EXPECT_THROW_MSG(Tokenizer::from_json(doc(head + R"("special_tokens": ["<bos>"], "merges": [])")),
                   "special token 256 must be \"<pad>\", got \"<bos>\"");
}

TEST_F(TokenizerFileTest, LoadNamesTheFile) {
  EXPECT_THROW_MSG(Tokenizer::load(path("missing.json")), "Tokenizer::load: cannot open", "missing.json");
  write_bytes(path("bad.json"), "{\"format\": \"subtb.bpe-tokenizer\", \"version\": 7}");
  EXPECT_THROW_MSG(Tokenizer::load(path("bad.json")), "bad.json", "unsupported version 7");
}

TEST(SyntheticCorpus, IsDeterministicPerSeed) {
  const std::string a = synthetic_corpus(5, 50'000);
  EXPECT_EQ(a, synthetic_corpus(5, 50'000));
  EXPECT_NE(a, synthetic_corpus(6, 50'000));
  EXPECT_GE(a.size(), 50'000u);
  EXPECT_LT(a.size(), 51'000u);
  EXPECT_TRUE(a.ends_with(".\n\n") || a.ends_with("}\n\n"));
  EXPECT_TRUE(std::all_of(a.begin(), a.end(), [](char c) { return c == '\n' || (c >= ' ' && c <= '~'); }));
  // A prefix of a longer text from the same seed: the length only decides where to stop.
  EXPECT_TRUE(synthetic_corpus(5, 80'000).starts_with(a));
}

TEST(SyntheticCorpus, DefaultIsAFewHundredKilobytesWithEveryTopic) {
  const std::string text = synthetic_corpus(0);
  EXPECT_GE(text.size(), 400'000u);
  for (const char* phrase :
       {" plus ", "number line", "The dealer shows", "makes twelve", "You go to the", "\"action\": \"[DONE]\""})
    EXPECT_NE(text.find(phrase), std::string::npos) << phrase;
}

}  // namespace
}  // namespace subtb::nn
