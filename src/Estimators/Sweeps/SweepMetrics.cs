using Microsoft.ML;

namespace Pipelines;

/// <summary>Metrics of a scored validation set, for <see cref="SweepOptions.Metric"/>, taken from ML.NET's evaluators.</summary>
public static class SweepMetrics
{
    /// <summary>F1 of the positive class of a binary classifier.</summary>
    public static Func<MLContext, IDataView, double> BinaryF1(string labelColumnName = "Label") =>
        (ml, scored) => ml.BinaryClassification.Evaluate(scored, labelColumnName).F1Score;

    /// <summary>Area under the ROC curve of a binary classifier.</summary>
    public static Func<MLContext, IDataView, double> BinaryAuc(string labelColumnName = "Label") =>
        (ml, scored) => ml.BinaryClassification.Evaluate(scored, labelColumnName).AreaUnderRocCurve;

    /// <summary>Macro accuracy of a multiclass classifier.</summary>
    public static Func<MLContext, IDataView, double> MacroAccuracy(string labelColumnName = "Label") =>
        (ml, scored) => ml.MulticlassClassification.Evaluate(scored, labelColumnName).MacroAccuracy;

    /// <summary>Entity-level micro F1 of a token classifier.</summary>
    public static Func<MLContext, IDataView, double> EntityF1(string labelColumnName = "Label") =>
        (ml, scored) => ml.MulticlassClassification.EvaluateEntities(scored, labelColumnName).Micro.F1;
}
