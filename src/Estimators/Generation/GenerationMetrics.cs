using System.Text;

namespace Pipelines;

/// <summary>
/// How close generated texts are to their references, over a set of rows. Both measures read
/// lowercased words (runs of letters and digits; everything else separates them), as Google's
/// rouge_score package tokenizes without stemming.
/// </summary>
/// <param name="RougeL">Mean over rows of ROUGE-L F1: the longest common subsequence of words, as recall and precision combined.</param>
/// <param name="Bleu">Corpus BLEU-4 (Papineni et al.): clipped n-gram precisions for n = 1..4 pooled over rows, geometric mean,
/// brevity penalty; an n with no match counts 1 / (2^k x candidates' n-grams), k = 1, 2 ... (sacreBLEU's "exp" smoothing).</param>
/// <param name="Rows">Rows measured.</param>
public sealed record GenerationMetrics(double RougeL, double Bleu, int Rows)
{
    /// <summary>Measures <paramref name="generated"/> against <paramref name="references"/>, row by row.</summary>
    public static GenerationMetrics Compute(IReadOnlyList<string> generated, IReadOnlyList<string> references)
    {
        if (generated.Count != references.Count)
            throw new ArgumentException($"{generated.Count} generated texts for {references.Count} references.", nameof(generated));
        if (generated.Count == 0) throw new ArgumentException("There are no rows to measure.", nameof(generated));
        var candidates = generated.Select(Words).ToList();
        var golds = references.Select(Words).ToList();
        var rouge = candidates.Zip(golds, RougeLF1).Average();
        return new GenerationMetrics(rouge, CorpusBleu(candidates, golds), generated.Count);
    }

    /// <summary>ROUGE-L F1 of one candidate against one reference (1 when both are empty).</summary>
    public static double SentenceRougeL(string candidate, string reference) => RougeLF1(Words(candidate), Words(reference));

    /// <summary>The lowercased words both measures compare.</summary>
    public static string[] Words(string text)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        foreach (var c in text)
        {
            if (char.IsLetterOrDigit(c)) { word.Append(char.ToLowerInvariant(c)); continue; }
            if (word.Length > 0) { words.Add(word.ToString()); word.Clear(); }
        }
        if (word.Length > 0) words.Add(word.ToString());
        return [.. words];
    }

    private static double RougeLF1(string[] candidate, string[] reference)
    {
        if (candidate.Length == 0 || reference.Length == 0) return candidate.Length == reference.Length ? 1 : 0;
        var lcs = LongestCommonSubsequence(candidate, reference);
        if (lcs == 0) return 0;
        double precision = (double)lcs / candidate.Length, recall = (double)lcs / reference.Length;
        return 2 * precision * recall / (precision + recall);
    }

    private static int LongestCommonSubsequence(string[] a, string[] b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        foreach (var x in a)
        {
            for (var j = 1; j <= b.Length; j++)
                current[j] = x == b[j - 1] ? previous[j - 1] + 1 : Math.Max(previous[j], current[j - 1]);
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }

    private static double CorpusBleu(IReadOnlyList<string[]> candidates, IReadOnlyList<string[]> references)
    {
        var matches = new long[4];
        var totals = new long[4];
        long candidateLength = 0, referenceLength = 0;
        for (var row = 0; row < candidates.Count; row++)
        {
            candidateLength += candidates[row].Length;
            referenceLength += references[row].Length;
            for (var n = 1; n <= 4; n++)
            {
                var reference = NGrams(references[row], n);
                foreach (var (gram, count) in NGrams(candidates[row], n))
                {
                    matches[n - 1] += Math.Min(count, reference.GetValueOrDefault(gram));
                    totals[n - 1] += count;
                }
            }
        }
        if (candidateLength == 0) return 0;
        double logPrecision = 0, smoothing = 1;
        for (var n = 0; n < 4; n++)
        {
            if (totals[n] == 0) return 0;     // candidates too short to hold any n-gram of this order
            var precision = matches[n] > 0 ? (double)matches[n] / totals[n] : 1 / ((smoothing *= 2) * totals[n]);
            logPrecision += Math.Log(precision) / 4;
        }
        var brevity = candidateLength >= referenceLength ? 0 : 1 - (double)referenceLength / candidateLength;
        return Math.Exp(brevity + logPrecision);
    }

    private static Dictionary<string, int> NGrams(string[] words, int n)
    {
        var grams = new Dictionary<string, int>();
        for (var i = 0; i + n <= words.Length; i++)
        {
            var gram = string.Join(' ', words, i, n);
            grams[gram] = grams.GetValueOrDefault(gram) + 1;
        }
        return grams;
    }
}
