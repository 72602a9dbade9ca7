using Microsoft.ML;

namespace Pipelines;

/// <summary>Checks <see cref="TrainingOptions.ValidationData"/> before a trainer reads it.</summary>
internal static class ValidationColumns
{
    /// <summary>
    /// The separate validation data, after checking it has the columns the trainer reads: it is read
    /// as given, so a chain's earlier steps (the tokenizer) must have been applied to it.
    /// </summary>
    public static IDataView Check(IDataView validation, params string?[] columns)
    {
        foreach (var column in columns)
            if (column is not null && validation.Schema.GetColumnOrNull(column) is null)
                throw new ArgumentException(
                    $"{nameof(TrainingOptions.ValidationData)} has no column '{column}'. It is read as given, not through the chain: " +
                    "transform it with the chain's earlier steps first, e.g. tokenizer.Fit(validation).Transform(validation).");
        return validation;
    }
}
