using System.Globalization;
using System.Text;

namespace Pipelines;

/// <summary>Precision, recall and F1 of one entity type (or an average), and its gold count (support).</summary>
public sealed record EntityScore(double Precision, double Recall, double F1, int Support);

/// <summary>
/// Entity-level scores as seqeval and conlleval define them: an entity counts as found only when
/// a predicted entity has exactly its span and type. Per type, micro average (over all entities)
/// and macro average (unweighted over types), plus word-level tag accuracy.
/// </summary>
public sealed class EntityMetrics
{
    private EntityMetrics(IReadOnlyDictionary<string, EntityScore> perType, EntityScore micro, EntityScore macro, double accuracy, int sentences, int words)
    {
        (PerType, Micro, Macro, TokenAccuracy, Sentences, Words) = (perType, micro, macro, accuracy, sentences, words);
    }

    /// <summary>Scores per entity type, by type name.</summary>
    public IReadOnlyDictionary<string, EntityScore> PerType { get; }
    /// <summary>Micro average: true positives, predictions and gold entities summed over types.</summary>
    public EntityScore Micro { get; }
    /// <summary>Macro average: the mean of the per-type precision, recall and F1.</summary>
    public EntityScore Macro { get; }
    /// <summary>Fraction of words whose predicted tag equals the gold tag.</summary>
    public double TokenAccuracy { get; }
    /// <summary>Sentences scored.</summary>
    public int Sentences { get; }
    /// <summary>Words scored.</summary>
    public int Words { get; }

    /// <summary>Scores aligned (gold, predicted) tag sequences; each pair must have equal lengths.</summary>
    /// <exception cref="ArgumentException">A pair's lengths differ (names the sentence).</exception>
    public static EntityMetrics Compute(IEnumerable<(IReadOnlyList<string> Gold, IReadOnlyList<string> Predicted)> sentences)
    {
        var truePositives = new Dictionary<string, int>();
        var predicted = new Dictionary<string, int>();
        var gold = new Dictionary<string, int>();
        int count = 0, words = 0, correctWords = 0;
        foreach (var (goldTags, predictedTags) in sentences)
        {
            if (goldTags.Count != predictedTags.Count)
                throw new ArgumentException($"Sentence {count} has {goldTags.Count} gold tags but {predictedTags.Count} predicted tags.", nameof(sentences));
            count++;
            words += goldTags.Count;
            for (var i = 0; i < goldTags.Count; i++)
                if (goldTags[i] == predictedTags[i]) correctWords++;
            var goldEntities = EntityTags.Extract(goldTags);
            var predictedEntities = EntityTags.Extract(predictedTags);
            foreach (var e in goldEntities) Increment(gold, e.Type);
            foreach (var e in predictedEntities) Increment(predicted, e.Type);
            foreach (var e in predictedEntities.Intersect(goldEntities)) Increment(truePositives, e.Type);
        }

        var types = gold.Keys.Union(predicted.Keys).Order(StringComparer.Ordinal).ToList();
        var perType = types.ToDictionary(t => t, t => Score(Get(truePositives, t), Get(predicted, t), Get(gold, t)));
        var micro = Score(truePositives.Values.Sum(), predicted.Values.Sum(), gold.Values.Sum());
        var macro = types.Count == 0
            ? new EntityScore(0, 0, 0, 0)
            : new EntityScore(perType.Values.Average(s => s.Precision), perType.Values.Average(s => s.Recall),
                perType.Values.Average(s => s.F1), gold.Values.Sum());
        return new EntityMetrics(perType, micro, macro, words == 0 ? 0 : correctWords / (double)words, count, words);

        static void Increment(Dictionary<string, int> counts, string type) => counts[type] = Get(counts, type) + 1;
        static int Get(Dictionary<string, int> counts, string type) => counts.GetValueOrDefault(type);
    }

    // Precision and recall are 0 when undefined (no predictions, no gold), as seqeval's default.
    private static EntityScore Score(int truePositives, int predicted, int gold)
    {
        var precision = predicted == 0 ? 0 : truePositives / (double)predicted;
        var recall = gold == 0 ? 0 : truePositives / (double)gold;
        var f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        return new EntityScore(precision, recall, f1, gold);
    }

    /// <summary>A report table: one line per type, then the micro and macro averages and the tag accuracy.</summary>
    public override string ToString()
    {
        var width = Math.Max(12, PerType.Keys.Select(k => k.Length).DefaultIfEmpty(0).Max() + 2);
        var text = new StringBuilder();
        Line("", "precision", "recall", "f1", "support");
        foreach (var (type, score) in PerType) Row(type, score);
        text.AppendLine();
        Row("micro avg", Micro);
        Row("macro avg", Macro);
        text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{"tag accuracy".PadLeft(width)} {TokenAccuracy,10:F4}   ({Words:N0} words, {Sentences:N0} sentences)"));
        return text.ToString();

        void Row(string name, EntityScore s) => Line(name, F(s.Precision), F(s.Recall), F(s.F1), s.Support.ToString("N0", CultureInfo.InvariantCulture));
        void Line(string a, string b, string c, string d, string e) => text.AppendLine($"{a.PadLeft(width)} {b,10} {c,10} {d,10} {e,10}");
        static string F(double value) => value.ToString("F4", CultureInfo.InvariantCulture);
    }
}
