using Pipelines.Models.Training;

namespace Pipelines.Models.Tests.Training;

[TestClass]
public sealed class SentencePairsTests
{
    private const int Cls = 2, Sep = 3;

    private static int[] Document(int start, int length) => [Cls, .. Enumerable.Range(start, length), Sep];

    [TestMethod]
    public void SentenceOrderPairsAreTheDocumentSplitInOrderOrSwappedWithTheLayoutAndSegmentsOfBert()
    {
        var pairs = new SentencePairs([Document(100, 20)], SentencePairObjective.SentenceOrder, Cls, Sep, maxLength: 64);
        var random = new Random(1);
        var labels = new List<int>();
        for (var i = 0; i < 2000; i++)
        {
            var (ids, segments, label) = pairs.Make(0, random);
            labels.Add(label);
            Assert.AreEqual(Cls, ids[0]);
            Assert.AreEqual(Sep, ids[^1]);
            var middle = Array.IndexOf(ids, Sep);
            int[] a = ids[1..middle], b = ids[(middle + 1)..^1];
            Assert.IsTrue(a.Length >= 1 && b.Length >= 1);
            CollectionAssert.AreEqual(Enumerable.Repeat(0, middle + 1).Concat(Enumerable.Repeat(1, b.Length + 1)).ToArray(), segments);
            // Together the two segments are the whole document, in order (label 0) or with the halves swapped (1).
            var joined = label == 0 ? a.Concat(b) : b.Concat(a);
            CollectionAssert.AreEqual(Enumerable.Range(100, 20).ToArray(), joined.ToArray(), $"label {label}");
        }
        Assert.AreEqual(0.5, labels.Average(), 0.03, "half the pairs are swapped");
    }

    [TestMethod]
    public void NextSentencePairsTakeTheSecondSegmentFromAnotherDocumentHalfTheTime()
    {
        var pairs = new SentencePairs([Document(100, 30), Document(200, 30), Document(300, 30)], SentencePairObjective.NextSentence, Cls, Sep, maxLength: 64);
        var random = new Random(2);
        var labels = new List<int>();
        for (var i = 0; i < 2000; i++)
        {
            var (ids, _, label) = pairs.Make(1, random);
            labels.Add(label);
            var middle = Array.IndexOf(ids, Sep);
            int[] a = ids[1..middle], b = ids[(middle + 1)..^1];
            Assert.IsTrue(a.All(t => t is >= 200 and < 230), "the first segment comes from the document drawn");
            if (label == 0) CollectionAssert.AreEqual(Enumerable.Range(a[^1] + 1, b.Length).ToArray(), b, "the continuation");
            else Assert.IsTrue(b.All(t => t is < 200 or >= 230), "a segment of another document");
        }
        Assert.AreEqual(0.5, labels.Average(), 0.03);
    }

    [TestMethod]
    public void LongDocumentsAreCutToAWindowThatFitsAndTooShortOnesAreLeftOut()
    {
        var pairs = new SentencePairs([Document(100, 500), [Cls, 7, Sep], [Cls, Sep]], SentencePairObjective.SentenceOrder, Cls, Sep, maxLength: 32);
        Assert.HasCount(1, pairs.Documents);
        var random = new Random(3);
        for (var i = 0; i < 200; i++) Assert.HasCount(32, pairs.Make(0, random).Ids);
        Assert.Throws<ArgumentException>(() => new SentencePairs([[Cls, 7, Sep]], SentencePairObjective.SentenceOrder, Cls, Sep, 32));
    }
}
