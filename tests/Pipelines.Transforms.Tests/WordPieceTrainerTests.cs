using Microsoft.ML.Tokenizers;

namespace Pipelines.Transforms.Tests;

[TestClass]
public sealed class WordPieceTrainerTests
{
    private static readonly string[] Corpus =
    [
        "the cat sat on the mat", "the cats sat on the mats", "a cat is playing", "cats are playing",
        "The Mat is flat", "naïve café", "playing played plays",
    ];

    [TestMethod]
    public void VocabularyStartsWithSpecialsThenTheAlphabetThenMerges()
    {
        var vocab = WordPieceTrainer.Train(Corpus, new WordPieceTrainerOptions { VocabularySize = 60, MinFrequency = 2 });
        CollectionAssert.AreEqual(new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }, vocab.Take(5).ToArray());
        // Lower-cased and accents stripped: 'c', 'e', 'i' appear, 'é', 'ï', 'T' do not.
        CollectionAssert.Contains(vocab.ToArray(), "c");
        CollectionAssert.Contains(vocab.ToArray(), "##e");
        CollectionAssert.DoesNotContain(vocab.ToArray(), "é");
        CollectionAssert.DoesNotContain(vocab.ToArray(), "T");
        // The most frequent words are learnt whole.
        CollectionAssert.Contains(vocab.ToArray(), "the");
        CollectionAssert.Contains(vocab.ToArray(), "cat");
        Assert.AreEqual(vocab.Count, vocab.Distinct().Count());
        Assert.IsLessThan(61, vocab.Count);
    }

    [TestMethod]
    public void EveryMergeIsTheMostFrequentPairCountedAfreshOverAllWords()
    {
        // Words of a few syllables, so that merges overlap, repeat and make pieces that already exist.
        var random = new Random(5);
        string[] syllables = ["ab", "ba", "a", "b", "abc", "ca", "bc"];
        var texts = Enumerable.Range(0, 400).Select(_ => string.Join(' ', Enumerable.Range(0, 6).Select(_ =>
            string.Concat(Enumerable.Range(0, random.Next(1, 5)).Select(_ => syllables[random.Next(syllables.Length)]))))).ToList();
        var options = new WordPieceTrainerOptions { VocabularySize = 120, MinFrequency = 2 };
        CollectionAssert.AreEqual(NaiveTrain(texts, options).ToArray(), WordPieceTrainer.Train(texts, options).ToArray());
    }

    // The reference: after every merge, count every adjacent pair of every word again from scratch.
    private static List<string> NaiveTrain(IEnumerable<string> texts, WordPieceTrainerOptions options)
    {
        var counts = texts.SelectMany(t => t.Split(' ')).GroupBy(w => w).ToDictionary(g => g.Key, g => g.Count());
        var vocabulary = options.SpecialTokens.ToList();
        var alphabet = counts.Keys.SelectMany(w => w).Distinct().Select(c => c.ToString()).Order(StringComparer.Ordinal).ToList();
        vocabulary.AddRange(alphabet);
        vocabulary.AddRange(alphabet.Select(c => "##" + c));
        var words = counts.ToDictionary(p => p.Key, p => p.Key.Select((c, i) => vocabulary.IndexOf((i == 0 ? "" : "##") + c)).ToList());
        while (vocabulary.Count < options.VocabularySize)
        {
            var pairs = new Dictionary<(int, int), long>();
            foreach (var (word, pieces) in words)
                for (var i = 0; i + 1 < pieces.Count; i++)
                    pairs[(pieces[i], pieces[i + 1])] = pairs.GetValueOrDefault((pieces[i], pieces[i + 1])) + counts[word];
            if (pairs.Count == 0) break;
            var best = pairs.OrderByDescending(p => p.Value).ThenBy(p => p.Key.Item1).ThenBy(p => p.Key.Item2).First();
            if (best.Value < options.MinFrequency) break;
            var (left, right) = best.Key;
            var text = vocabulary[left] + vocabulary[right][2..];
            if (!vocabulary.Contains(text)) vocabulary.Add(text);
            var merged = vocabulary.IndexOf(text);
            foreach (var pieces in words.Values)
                for (var i = 0; i + 1 < pieces.Count; i++)
                    if (pieces[i] == left && pieces[i + 1] == right) { pieces[i] = merged; pieces.RemoveAt(i + 1); }
        }
        return vocabulary;
    }

    [TestMethod]
    public void TrainingIsDeterministic()
    {
        var options = new WordPieceTrainerOptions { VocabularySize = 50 };
        CollectionAssert.AreEqual(WordPieceTrainer.Train(Corpus, options).ToArray(), WordPieceTrainer.Train(Corpus, options).ToArray());
    }

    [TestMethod]
    public void MinFrequencyStopsMergingRarePairs()
    {
        var vocab = WordPieceTrainer.Train(Corpus, new WordPieceTrainerOptions { VocabularySize = 1000, MinFrequency = 100 });
        // Nothing occurs 100 times: specials and the alphabet (word-start and ## forms) only.
        Assert.IsTrue(vocab.Skip(5).All(t => t.Length == 1 || (t.StartsWith("##") && t.Length == 3)), string.Join(" ", vocab));
    }

    [TestMethod]
    public void TrainedVocabularyLoadsUnchangedInMicrosoftMlTokenizers()
    {
        var vocab = WordPieceTrainer.Train(Corpus, new WordPieceTrainerOptions { VocabularySize = 60 });
        var bert = BertTokenizer.Create(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(string.Join("\n", vocab))), new BertOptions { LowerCaseBeforeTokenization = true, RemoveNonSpacingMarks = true });
        var ids = bert.EncodeToIds("The cats are playing on a flat mat", addSpecialTokens: false);
        Assert.IsFalse(ids.Contains(bert.UnknownTokenId));
        Assert.AreEqual("the cats are playing on a flat mat", bert.Decode(ids));
    }

    [TestMethod]
    public void OptionsWithoutRequiredSpecialsAreRejected()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => WordPieceTrainer.Train(Corpus, new WordPieceTrainerOptions { SpecialTokens = ["[PAD]", "[UNK]", "[CLS]"] }));
        StringAssert.Contains(e.Message, "[SEP]");
    }

    [TestMethod]
    public void SpamAssassinVocabularyEncodesHeldOutBodiesWithUnderOnePercentUnknown()
    {
        // A subset keeps the test fast on 2 cores: the first 1,000 training bodies, 300 test bodies.
        var train = SharedData.SpamBodies("train", take: 1000);
        var test = SharedData.SpamBodies("test", take: 300);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var tokenizer = WordPieceTrainer.TrainTokenizer(train, new WordPieceTrainerOptions { VocabularySize = 8000 });
        var trainSeconds = started.Elapsed.TotalSeconds;
        long tokens = 0, unknown = 0;
        foreach (var body in test)
        {
            var encoded = tokenizer.Encode(body, maxLength: int.MaxValue, addSpecialTokens: false);
            tokens += encoded.Ids.Length;
            unknown += encoded.UnknownCount;
        }
        var rate = (double)unknown / tokens;
        Console.WriteLine($"WordPiece on SpamAssassin: vocabulary {tokenizer.VocabSize}, trained in {trainSeconds:F1} s; test bodies: {tokens} tokens, {unknown} unknown ({rate:P3}).");
        Assert.AreEqual(8000, tokenizer.VocabSize);
        Assert.IsLessThan(0.01, rate);
    }
}
