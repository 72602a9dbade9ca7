namespace Pipelines.Estimators.Tests.TokenClassification;

[TestClass]
public sealed class TagDecoderTests
{
    private static readonly string[] Tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"];

    private static float[] Log(params double[] p) => p.Select(x => (float)Math.Log(x)).ToArray();

    private static string[] Decode(params float[][] words) => TagDecoder.Viterbi(words, Tags).Select(i => Tags[i]).ToArray();

    [TestMethod]
    public void AnEntityOpensWithBeginWhereTheBestSingleTagsWouldOpenItWithInside()
    {
        // Word by word: O, I-PER, I-PER ("Angela" and "Merkel" as a stray inside); the best valid sequence opens with B-PER.
        var tags = Decode(Log(0.8, 0.05, 0.05, 0.05, 0.05), Log(0.1, 0.3, 0.5, 0.05, 0.05), Log(0.1, 0.1, 0.7, 0.05, 0.05));
        CollectionAssert.AreEqual(new[] { "O", "B-PER", "I-PER" }, tags);
        // An inside tag of another type than the entity it would continue is not allowed either.
        CollectionAssert.AreEqual(new[] { "B-PER", "I-PER" }, Decode(Log(0.1, 0.8, 0.04, 0.03, 0.03), Log(0.1, 0.05, 0.35, 0.1, 0.4)));
    }

    [TestMethod]
    public void ViterbiFindsTheBestValidSequenceThatBruteForceFinds()
    {
        var random = new Random(7);
        for (var trial = 0; trial < 50; trial++)
        {
            var n = random.Next(1, 6);
            var words = Enumerable.Range(0, n).Select(_ =>
            {
                var p = Enumerable.Range(0, Tags.Length).Select(_ => random.NextDouble() + 1e-3).ToArray();
                return Log(p.Select(x => x / p.Sum()).ToArray());
            }).ToArray();
            var best = double.NegativeInfinity;
            foreach (var sequence in Sequences(n))
            {
                var names = sequence.Select(i => Tags[i]).ToArray();
                if (!CollectionEquals(EntityTags.ToIob2(names), names)) continue;      // valid IOB2 only: nothing to repair
                best = Math.Max(best, sequence.Select((tag, t) => (double)words[t][tag]).Sum());
            }
            var path = TagDecoder.Viterbi(words, Tags);
            Assert.AreEqual(best, path.Select((tag, t) => (double)words[t][tag]).Sum(), 1e-9, $"trial {trial}");
            var decoded = path.Select(i => Tags[i]).ToArray();
            CollectionAssert.AreEqual(EntityTags.ToIob2(decoded), decoded, "the decoded sequence is valid IOB2");
        }
    }

    private static bool CollectionEquals(string[] a, string[] b) => a.SequenceEqual(b);

    private static IEnumerable<int[]> Sequences(int n)
    {
        if (n == 0) { yield return []; yield break; }
        foreach (var rest in Sequences(n - 1))
            for (var tag = 0; tag < Tags.Length; tag++) yield return [.. rest, tag];
    }
}
