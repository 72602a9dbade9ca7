using System.Text.Json;
using Pipelines.Models.Training;

namespace Pipelines;

/// <summary>
/// A training run's log as JSON lines, written by the library itself (see <see cref="TrainingOptions.RunLogPath"/>).
/// Each line is appended and the file closed again, so a run killed at any step leaves every line before it.
/// </summary>
internal sealed class RunLog
{
    // A NaN validation loss is written as "NaN", not refused.
    private static readonly JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
    private readonly string _path;

    /// <summary>Starts the log at <paramref name="path"/>: a new file, or the existing one continued when <paramref name="append"/>.</summary>
    public RunLog(string path, bool append)
    {
        _path = Path.GetFullPath(path);
        if (Path.GetDirectoryName(_path) is { } directory) Directory.CreateDirectory(directory);
        if (!append || !File.Exists(_path)) File.WriteAllText(_path, "");
    }

    /// <summary>Appends one line for <paramref name="progress"/>.</summary>
    public void Write(TrainingProgress progress)
    {
        var line = new Dictionary<string, object?>
        {
            ["step"] = progress.Step, ["total_steps"] = progress.TotalSteps, ["epoch"] = Math.Round(progress.Epoch, 4),
            ["loss"] = progress.Loss, ["learning_rate"] = progress.LearningRate, ["tokens_per_second"] = Math.Round(progress.TokensPerSecond, 1),
            ["elapsed_seconds"] = Math.Round(progress.Elapsed.TotalSeconds, 3),
        };
        if (progress.Validation is { } validation)
        {
            line["validation_loss"] = validation.Loss;
            line["validation_perplexity"] = validation.Perplexity;
            if (validation.Accuracy is double accuracy) line["validation_accuracy"] = accuracy;
            if (validation.PairAccuracy is double pairs) line["validation_pair_accuracy"] = pairs;
            if (validation.F1 is double f1) line["validation_f1"] = f1;
            if (validation.Auc is double auc) line["validation_auc"] = auc;
        }
        File.AppendAllText(_path, JsonSerializer.Serialize(line, Json) + "\n");
    }
}
