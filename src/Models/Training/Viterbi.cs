namespace Pipelines.Models.Training;

/// <summary>The best path through a chain of per-position scores (Viterbi), for tag decoding.</summary>
public static class Viterbi
{
    /// <summary>
    /// The tag indices, one per position, that maximise the sum of <paramref name="scores"/>
    /// (positions x tags) plus <paramref name="start"/> of the first tag, <paramref name="transition"/>
    /// (from, to) of each pair of neighbours and <paramref name="end"/> of the last; a negative infinite
    /// score forbids a tag or a transition.
    /// </summary>
    public static int[] Decode(IReadOnlyList<float[]> scores, Func<int, int, double> transition, Func<int, double> start, Func<int, double> end)
    {
        var n = scores.Count;
        if (n == 0) return [];
        var k = scores[0].Length;
        var best = Enumerable.Range(0, k).Select(j => start(j) + scores[0][j]).ToArray();
        var back = new int[n, k];
        for (var t = 1; t < n; t++)
        {
            var next = new double[k];
            for (var j = 0; j < k; j++)
            {
                var (top, from) = (double.NegativeInfinity, 0);
                for (var i = 0; i < k; i++)
                    if (best[i] + transition(i, j) is var candidate && candidate > top) (top, from) = (candidate, i);
                (next[j], back[t, j]) = (top + scores[t][j], from);
            }
            best = next;
        }
        var last = Enumerable.Range(0, k).Select(j => best[j] + end(j)).ToArray();
        var path = new int[n];
        path[n - 1] = Array.IndexOf(last, last.Max());
        for (var t = n - 1; t > 0; t--) path[t - 1] = back[t, path[t]];
        return path;
    }
}
