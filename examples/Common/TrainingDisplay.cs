using Pipelines.Models.Training;
using Spectre.Console;

namespace Pipelines.Examples.Common;

/// <summary>
/// Shows a training run's progress: a live bar (step, loss, tokens/s, ETA) in an interactive
/// terminal, plain log lines otherwise (CI, redirected output).
/// </summary>
public static class TrainingDisplay
{
    /// <summary>Runs <paramref name="work"/>, giving it a progress sink that draws <paramref name="title"/>'s progress.</summary>
    public static T Run<T>(string title, Func<IProgress<TrainingProgress>, T> work, int logEvery = 100)
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive || Console.IsOutputRedirected)
            return work(new LineProgress(title, logEvery));
        T result = default!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(title);
                result = work(new BarProgress(task, title));
                task.Value = task.MaxValue;
            });
        return result;
    }

    private sealed class LineProgress(string title, int every) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress p)
        {
            if (p.Validation is not null || p.Step % every == 0 || p.Step == p.TotalSteps)
                Console.WriteLine($"{title}: {p}");
        }
    }

    private sealed class BarProgress(ProgressTask task, string title) : IProgress<TrainingProgress>
    {
        private Pipelines.ValidationResult? _validation;

        public void Report(TrainingProgress p)
        {
            _validation = p.Validation ?? _validation;
            task.MaxValue = p.TotalSteps;
            task.Value = p.Step;
            var validation = _validation is null ? "" : $" val {_validation.Loss:F3}";
            task.Description = Markup.Escape($"{title} step {p.Step}/{p.TotalSteps} loss {p.Loss:F3}{validation} {p.TokensPerSecond:N0} tok/s eta {p.Remaining:mm\\:ss}");
        }
    }
}
