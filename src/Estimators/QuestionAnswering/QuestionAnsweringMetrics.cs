using System.Text;

namespace Pipelines;

/// <summary>
/// SQuAD's measures of predicted answers against the gold answers of each question, as its official
/// evaluation script defines them: both texts normalised (lowercase, ASCII punctuation removed, the
/// articles a, an and the removed, whitespace collapsed), exact match, and F1 over the normalised
/// words; a question with several gold answers takes the best. An empty gold answer (SQuAD 2.0's
/// "no answer") is matched only by an empty prediction. Fractions in [0, 1] (the script prints x 100).
/// </summary>
/// <param name="ExactMatch">Mean over questions of the best exact match.</param>
/// <param name="F1">Mean over questions of the best word-overlap F1.</param>
/// <param name="Questions">Questions measured.</param>
public sealed record QuestionAnsweringMetrics(double ExactMatch, double F1, int Questions)
{
    /// <summary>Measures each prediction against its question's gold answers.</summary>
    public static QuestionAnsweringMetrics Compute(IReadOnlyList<string> predictions, IReadOnlyList<IReadOnlyList<string>> golds)
    {
        if (predictions.Count != golds.Count) throw new ArgumentException($"{predictions.Count} predictions for {golds.Count} questions.", nameof(predictions));
        if (predictions.Count == 0) throw new ArgumentException("There are no questions to measure.", nameof(predictions));
        double exact = 0, f1 = 0;
        for (var i = 0; i < predictions.Count; i++)
        {
            var answers = golds[i].Count == 0 ? [""] : golds[i];
            exact += answers.Max(g => ExactMatchScore(predictions[i], g));
            f1 += answers.Max(g => F1Score(predictions[i], g));
        }
        return new QuestionAnsweringMetrics(exact / predictions.Count, f1 / predictions.Count, predictions.Count);
    }

    /// <summary>1 when the normalised texts are equal, else 0.</summary>
    public static double ExactMatchScore(string prediction, string gold) => Normalize(prediction) == Normalize(gold) ? 1 : 0;

    /// <summary>F1 of the normalised words the prediction shares with the gold answer (each shared word counted as often as both hold it).</summary>
    public static double F1Score(string prediction, string gold)
    {
        var predicted = Words(prediction);
        var expected = Words(gold);
        if (predicted.Length == 0 || expected.Length == 0) return predicted.Length == expected.Length ? 1 : 0;
        var counts = expected.GroupBy(w => w).ToDictionary(g => g.Key, g => g.Count());
        var same = 0;
        foreach (var word in predicted)
            if (counts.TryGetValue(word, out var left) && left > 0) { same++; counts[word] = left - 1; }
        if (same == 0) return 0;
        double precision = (double)same / predicted.Length, recall = (double)same / expected.Length;
        return 2 * precision * recall / (precision + recall);
    }

    /// <summary>SQuAD's answer normalisation.</summary>
    public static string Normalize(string text)
    {
        var kept = new StringBuilder(text.Length);
        foreach (var c in text.ToLowerInvariant())
            if (!(c < 128 && char.IsPunctuation(c) || c < 128 && char.IsSymbol(c))) kept.Append(c);
        return string.Join(' ', kept.ToString().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Where(w => w is not ("a" or "an" or "the")));
    }

    private static string[] Words(string text) => Normalize(text).Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
