using System.Globalization;
using Pipelines.Models.Training;

namespace Pipelines.Examples.Common;

/// <summary>Writes a run's training and validation loss as CSV and as a PNG plot.</summary>
public static class LossCurves
{
    /// <summary>Writes <paramref name="name"/>.csv and <paramref name="name"/>.png into <paramref name="directory"/>; returns the PNG path.</summary>
    public static string Write(TrainingResult result, string directory, string name, string title)
    {
        Directory.CreateDirectory(directory);
        var csv = Path.Combine(directory, name + ".csv");
        var lines = new List<string> { "step,train_loss,validation_loss,learning_rate,tokens_per_second" };
        lines.AddRange(result.Reports.Select(r => string.Join(',',
            r.Step, F(r.Loss), r.Validation is null ? "" : F(r.Validation.Loss), F(r.LearningRate), F(r.TokensPerSecond))));
        File.WriteAllLines(csv, lines);

        var plot = new ScottPlot.Plot();
        var train = plot.Add.Scatter(result.Reports.Select(r => (double)r.Step).ToArray(), result.Reports.Select(r => r.Loss).ToArray());
        train.LegendText = "training loss";
        train.MarkerSize = 0;
        if (result.Validations.Count > 0)
        {
            var validation = plot.Add.Scatter(result.Validations.Select(v => (double)v.Step).ToArray(), result.Validations.Select(v => v.Loss).ToArray());
            validation.LegendText = "validation loss";
            validation.LineWidth = 2;
        }
        plot.Title(title);
        plot.XLabel("optimizer step");
        plot.YLabel("loss (nats per predicted token)");
        plot.ShowLegend();
        var png = Path.Combine(directory, name + ".png");
        plot.SavePng(png, 900, 540);
        return png;
    }

    private static string F(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}
