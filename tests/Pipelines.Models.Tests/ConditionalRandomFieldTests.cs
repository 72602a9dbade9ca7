using static TorchSharp.torch;

namespace Pipelines.Models.Tests;

[TestClass]
public sealed class ConditionalRandomFieldTests
{
    // Three tags where tag 2 may not follow tag 0 nor open a sentence (as I-X after O in IOB2).
    private static readonly bool[,] Allowed = { { true, true, false }, { true, true, true }, { true, true, true } };
    private static readonly bool[] AllowedFirst = [true, true, false];

    private static (float[] Start, float[] End, float[,] Transitions) Scores(ConditionalRandomField crf)
    {
        var p = crf.named_parameters().ToDictionary(x => x.name, x => x.parameter.detach().cpu().data<float>().ToArray());
        var k = (int)crf.Tags;
        var transitions = new float[k, k];
        for (var i = 0; i < k; i++)
            for (var j = 0; j < k; j++) transitions[i, j] = p["transitions"][i * k + j] + (Allowed[i, j] ? 0 : -10_000f);
        return (p["start_transitions"].Select((s, j) => s + (AllowedFirst[j] ? 0 : -10_000f)).ToArray(), p["end_transitions"], transitions);
    }

    private static double PathScore(ConditionalRandomField crf, float[][] emissions, int[] path)
    {
        var (start, end, transitions) = Scores(crf);
        double score = start[path[0]] + emissions[0][path[0]] + end[path[^1]];
        for (var t = 1; t < path.Length; t++) score += transitions[path[t - 1], path[t]] + emissions[t][path[t]];
        return score;
    }

    private static IEnumerable<int[]> Paths(int length, int k) => length == 0
        ? [[]]
        : Paths(length - 1, k).SelectMany(p => Enumerable.Range(0, k).Select(tag => (int[])[.. p, tag]));

    [TestMethod]
    public void TheLikelihoodAndTheBestPathAreWhatEnumeratingEverySequenceGives()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var crf = new ConditionalRandomField(3, Allowed, AllowedFirst);
        using (no_grad()) foreach (var p in crf.parameters()) p.normal_(0, 1);     // far from the small initial values
        var emissions = randn(2, 4, 3);
        var tags = tensor(new long[] { 0, 1, 2, 1, 1, 0, 0, 0 }, [2, 4]);
        var mask = tensor(new[] { true, true, true, true, true, true, false, false }, [2, 4]);      // the second row has two words
        var nll = crf.NegativeLogLikelihood(emissions, tags, mask).item<float>();

        var rows = new[] { (Length: 4, Gold: new[] { 0, 1, 2, 1 }), (Length: 2, Gold: new[] { 1, 0 }) };
        var expected = 0.0;
        for (var b = 0; b < 2; b++)
        {
            var e = Enumerable.Range(0, rows[b].Length).Select(t => emissions[b, t].data<float>().ToArray()).ToArray();
            var all = Paths(rows[b].Length, 3).Select(p => PathScore(crf, e, p)).ToArray();
            var max = all.Max();
            var logZ = max + Math.Log(all.Sum(s => Math.Exp(s - max)));
            expected += (logZ - PathScore(crf, e, rows[b].Gold)) / 2;
            var best = Paths(rows[b].Length, 3).MaxBy(p => PathScore(crf, e, p))!;
            CollectionAssert.AreEqual(best, crf.Decode(e), $"row {b}: Viterbi finds the best sequence");
            Assert.AreNotEqual(2, crf.Decode(e)[0], "a forbidden first tag is never decoded");
        }
        Assert.AreEqual(expected, nll, 1e-3 * Math.Abs(expected));
    }

    [TestMethod]
    public void TrainingLowersTheLikelihoodOfTheGoldSequences()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        var crf = new ConditionalRandomField(3, Allowed, AllowedFirst);
        var emissions = randn(4, 5, 3);
        var tags = randint(0, 2, [4, 5]);
        var mask = ones(4, 5, dtype: ScalarType.Bool);
        var optimizer = optim.Adam(crf.parameters(), 0.1);
        var first = crf.NegativeLogLikelihood(emissions, tags, mask).item<float>();
        for (var step = 0; step < 50; step++)
        {
            optimizer.zero_grad();
            crf.NegativeLogLikelihood(emissions, tags, mask).backward();
            optimizer.step();
        }
        Assert.IsLessThan(first - 0.5, crf.NegativeLogLikelihood(emissions, tags, mask).item<float>());
        Assert.Throws<ArgumentException>(() => new BertForTokenClassification(TinyConfigs.Encoder, 4, crf));
    }
}
