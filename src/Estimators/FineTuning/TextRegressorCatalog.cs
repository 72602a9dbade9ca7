using Microsoft.ML.Data;

using Pipelines;

namespace Microsoft.ML;

/// <summary>The transformer text regressor in ML.NET's regression trainer catalog.</summary>
public static class TextRegressorCatalog
{
    /// <summary>
    /// A regressor from one text, or a sentence pair, to a real value (similarity, rating, price),
    /// fine-tuned from a pretrained encoder (or trained from scratch). Evaluate it with
    /// <c>mlContext.Regression.Evaluate</c>.
    /// </summary>
    public static TextRegressionEstimator TransformerRegressor(this RegressionCatalog.RegressionTrainers catalog, TextRegressorOptions options) =>
        new(((IInternalCatalog)catalog).Environment, options ?? throw new ArgumentNullException(nameof(options)));
}
