using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines;

namespace Microsoft.ML;

/// <summary>Extractive question answering and its evaluation, reached as <c>mlContext.QuestionAnswering</c>.</summary>
public sealed class QuestionAnsweringCatalog
{
    private readonly IHostEnvironment _env;

    internal QuestionAnsweringCatalog(IHostEnvironment env) => _env = env;

    /// <summary>Fine-tunes an encoder to find each question's answer span in its context.</summary>
    public QuestionAnsweringEstimator FineTune(QuestionAnsweringOptions options) => new(_env, options ?? throw new ArgumentNullException(nameof(options)));

    /// <summary>
    /// SQuAD's exact match and F1 of <paramref name="predictedColumnName"/> (String) against the gold
    /// answers in <paramref name="labelColumnName"/> (String, or a vector of String: the best counts).
    /// </summary>
    public QuestionAnsweringMetrics Evaluate(IDataView data, string labelColumnName = "Answer", string predictedColumnName = "PredictedAnswer")
    {
        ArgumentNullException.ThrowIfNull(data);
        var label = data.Schema.GetColumnOrNull(labelColumnName) ?? throw new ArgumentOutOfRangeException(nameof(data), $"Could not find label column '{labelColumnName}'");
        var predicted = TextColumns.Check(data.Schema, predictedColumnName);
        var readAnswers = QuestionRow.AnswersGetter(label);
        var golds = new List<IReadOnlyList<string>>();
        var predictions = new List<string>();
        using var cursor = data.GetRowCursor([label, predicted]);
        var answers = readAnswers(cursor);
        var getPredicted = cursor.GetGetter<ReadOnlyMemory<char>>(predicted);
        ReadOnlyMemory<char> text = default;
        while (cursor.MoveNext())
        {
            golds.Add(answers().Where(a => a.Trim().Length > 0).ToArray());
            getPredicted(ref text);
            predictions.Add(text.ToString());
        }
        return QuestionAnsweringMetrics.Compute(predictions, golds);
    }
}

/// <summary>Adds <c>mlContext.QuestionAnswering</c>.</summary>
public static class QuestionAnsweringCatalogExtensions
{
    extension(MLContext mlContext)
    {
        /// <summary>Extractive question answering (SQuAD-style) and its SQuAD evaluation.</summary>
        public QuestionAnsweringCatalog QuestionAnswering => new(mlContext);
    }
}
