using Microsoft.ML.Data;

using Pipelines;

namespace Microsoft.ML;

/// <summary>The transformer token classifier and its entity-level evaluator, in ML.NET's multiclass catalog (where ML.NET keeps its own NER trainer).</summary>
public static class TokenClassifierCatalog
{
    /// <summary>A word tagger (NER) fine-tuned from a pretrained encoder (or trained from scratch).</summary>
    public static TokenClassificationEstimator TransformerTokenClassifier(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        TokenClassifierOptions options) =>
        new(((IInternalCatalog)catalog).Environment, options ?? throw new ArgumentNullException(nameof(options)));

    /// <summary>
    /// Entity-level precision, recall and F1 (seqeval's definition: exact span and type) per entity
    /// type, micro and macro averaged, and tag accuracy, from a gold and a predicted tag column
    /// (vectors of String, or of Key with key values, one tag per word). Rows without gold tags are skipped.
    /// </summary>
    public static EntityMetrics EvaluateEntities(this MulticlassClassificationCatalog catalog, IDataView data,
        string labelColumnName = "Label", string predictedLabelColumnName = "PredictedLabel")
    {
        ArgumentNullException.ThrowIfNull(data);
        var gold = TaggedRows.CheckTags(data.Schema, labelColumnName);
        var predicted = TaggedRows.CheckTags(data.Schema, predictedLabelColumnName);
        var pairs = new List<(IReadOnlyList<string>, IReadOnlyList<string>)>();
        using var cursor = data.GetRowCursor([gold, predicted]);
        var getGold = TaggedRows.TagGetter(cursor, gold);
        var getPredicted = TaggedRows.TagGetter(cursor, predicted);
        while (cursor.MoveNext())
        {
            var tags = getGold();
            if (tags.Length > 0) pairs.Add((tags, getPredicted()));
        }
        return EntityMetrics.Compute(pairs);
    }
}
