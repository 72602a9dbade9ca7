namespace Pipelines.Transforms.Tests;

[TestClass]
public sealed class MlmMaskerTests
{
    // A vocabulary of 1000 ids: 0 pad, 1 unknown, 2 [CLS], 3 [SEP], 4 [MASK].
    private static readonly int[] Specials = [0, 1, 2, 3, 4];
    private const int Mask = 4, Vocabulary = 1000;

    // 100 sequences of 1,000 tokens: [CLS], 900 ordinary tokens, [SEP], 98 padding.
    private static int[][] Sequences(int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, 100).Select(_ =>
            new[] { 2 }.Concat(Enumerable.Range(0, 900).Select(_ => random.Next(5, Vocabulary))).Append(3).Concat(Enumerable.Repeat(0, 98)).ToArray()).ToArray();
    }

    [TestMethod]
    public void BertRuleStatisticsHoldOverAHundredThousandTokens()
    {
        var masker = new MlmMasker(Mask, Vocabulary, Specials);
        var random = new Random(42);
        long maskable = 0, chosen = 0, masked = 0, replaced = 0, kept = 0, specialTouched = 0;
        foreach (var ids in Sequences(1))
        {
            var (output, labels) = masker.Mask(ids, random);
            for (var i = 0; i < ids.Length; i++)
            {
                var special = Specials.Contains(ids[i]);
                if (special)
                {
                    if (labels[i] != MlmMasker.IgnoreIndex || output[i] != ids[i]) specialTouched++;
                    continue;
                }
                maskable++;
                if (labels[i] == MlmMasker.IgnoreIndex)
                {
                    Assert.AreEqual(ids[i], output[i]);
                    continue;
                }
                Assert.AreEqual(ids[i], labels[i]);
                chosen++;
                if (output[i] == Mask) masked++;
                else if (output[i] == ids[i]) kept++;
                else
                {
                    replaced++;
                    Assert.IsFalse(Specials.Contains(output[i]), "random replacements are never special");
                }
            }
        }
        Console.WriteLine($"token masking over {maskable} maskable tokens: chosen {(double)chosen / maskable:P2}; of the chosen: [MASK] {(double)masked / chosen:P2}, random {(double)replaced / chosen:P2}, kept {(double)kept / chosen:P2}");
        Assert.AreEqual(0, specialTouched, "special tokens and padding are never chosen");
        Assert.AreEqual(90_000, maskable);
        Assert.AreEqual(0.15, (double)chosen / maskable, 0.01);
        Assert.AreEqual(0.80, (double)masked / chosen, 0.01);
        Assert.AreEqual(0.10, (double)replaced / chosen, 0.01);
        Assert.AreEqual(0.10, (double)kept / chosen, 0.01);
    }

    [TestMethod]
    public void SameSeedGivesSameMaskingAndAnotherSeedDoesNot()
    {
        var masker = new MlmMasker(Mask, Vocabulary, Specials);
        var ids = Sequences(2)[0];
        var a = masker.Mask(ids, new Random(7));
        var b = masker.Mask(ids, new Random(7));
        var c = masker.Mask(ids, new Random(8));
        CollectionAssert.AreEqual(a.MaskedIds, b.MaskedIds);
        CollectionAssert.AreEqual(a.Labels, b.Labels);
        CollectionAssert.AreNotEqual(a.Labels, c.Labels);
    }

    [TestMethod]
    public void WholeWordMaskingMasksEveryPieceOfAChosenWord()
    {
        var masker = new MlmMasker(Mask, Vocabulary, Specials, new MaskingOptions { Strategy = MaskingStrategy.WholeWord });
        var random = new Random(3);
        // [CLS], 300 words of 3 pieces each, [SEP]: word ids -1, 0,0,0, 1,1,1, ..., -1.
        var ids = new[] { 2 }.Concat(Enumerable.Range(0, 900).Select(i => 5 + i)).Append(3).ToArray();
        var words = new[] { -1 }.Concat(Enumerable.Range(0, 900).Select(i => i / 3)).Append(-1).ToArray();
        long chosenWords = 0, totalWords = 0;
        for (var round = 0; round < 100; round++)
        {
            var (_, labels) = masker.Mask(ids, random, words);
            Assert.AreEqual(MlmMasker.IgnoreIndex, labels[0]);
            Assert.AreEqual(MlmMasker.IgnoreIndex, labels[^1]);
            for (var w = 0; w < 300; w++)
            {
                var pieces = Enumerable.Range(1 + 3 * w, 3).Count(i => labels[i] != MlmMasker.IgnoreIndex);
                Assert.IsTrue(pieces == 0 || pieces == 3, $"word {w} had {pieces} of 3 pieces chosen");
                if (pieces == 3) chosenWords++;
                totalWords++;
            }
        }
        Assert.AreEqual(0.15, (double)chosenWords / totalWords, 0.01);
    }

    [TestMethod]
    public void WholeWordMaskingWithoutWordIdsIsRejected()
    {
        var masker = new MlmMasker(Mask, Vocabulary, Specials, new MaskingOptions { Strategy = MaskingStrategy.WholeWord });
        var e = Assert.ThrowsExactly<ArgumentException>(() => masker.Mask([2, 7, 3], new Random(1)));
        StringAssert.Contains(e.Message, "word id");
    }

    [TestMethod]
    public void SpanMaskingChoosesContiguousSpansWorthTheBudget()
    {
        var masker = new MlmMasker(Mask, Vocabulary, Specials, new MaskingOptions { Strategy = MaskingStrategy.Span });
        var ids = Sequences(4)[0];
        var (_, labels) = masker.Mask(ids, new Random(5));
        var chosen = labels.Count(l => l != MlmMasker.IgnoreIndex);
        Assert.AreEqual(135, chosen); // round(0.15 * 900)
        // Spans: far fewer runs than chosen tokens (mean span length is about 4).
        var runs = Enumerable.Range(0, labels.Length).Count(i => labels[i] != MlmMasker.IgnoreIndex && (i == 0 || labels[i - 1] == MlmMasker.IgnoreIndex));
        Assert.IsLessThan(chosen / 2, runs);
        Assert.IsTrue(Enumerable.Range(0, ids.Length).Where(i => Specials.Contains(ids[i])).All(i => labels[i] == MlmMasker.IgnoreIndex));
    }

    [TestMethod]
    public void BadOptionsAndIdsAreRejected()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new MlmMasker(Mask, Vocabulary, Specials, new MaskingOptions { MaskProbability = 1.5 }));
        Assert.ThrowsExactly<ArgumentException>(() => new MlmMasker(Mask, Vocabulary, Specials, new MaskingOptions { ReplaceWithMaskProbability = 0.9, ReplaceWithRandomProbability = 0.2 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new MlmMasker(Mask, Vocabulary, Specials).Mask([2, Vocabulary], new Random(1)));
        var noMask = TextTokenizer.FromWordPieceVocab(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"]);
        var e = Assert.ThrowsExactly<ArgumentException>(() => new MlmMasker(noMask));
        StringAssert.Contains(e.Message, "[MASK]");
    }
}
