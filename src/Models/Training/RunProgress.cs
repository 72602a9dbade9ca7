using System.Diagnostics;

namespace Pipelines.Models.Training;

/// <summary>
/// The running measures of a training run between reports: wall clock, tokens and examples seen,
/// the mean training loss since the last report; it makes the <see cref="TrainingProgress"/>
/// reports (throughput, epoch, time left) and hands each to the options' progress receiver.
/// </summary>
internal sealed class RunProgress(TrainingLoopOptions options, long trainingExamples, int startStep)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _tokens, _examples;
    private double _lossSum, _learningRate;
    private int _lossCount;

    /// <summary>Every report made, in order.</summary>
    public List<TrainingProgress> Reports { get; } = [];
    /// <summary>Wall time since the run (or its resumption) began.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Adds one optimizer step's mean loss, examples and tokens, and its learning rate.</summary>
    public void Add(double loss, long examples, long tokens, double learningRate)
    {
        (_lossSum, _lossCount, _examples, _tokens, _learningRate) = (_lossSum + loss, _lossCount + 1, _examples + examples, _tokens + tokens, learningRate);
    }

    /// <summary>Reports step <paramref name="step"/> when it is due (every ReportEvery steps, at a validation, at the last step).</summary>
    public void ReportIfDue(int step, ValidationResult? validation)
    {
        if (step % options.ReportEvery != 0 && validation is null && step != options.MaxSteps) return;
        var elapsed = _clock.Elapsed;
        var done = Math.Max(1, step - startStep);
        var remaining = TimeSpan.FromSeconds(elapsed.TotalSeconds / done * (options.MaxSteps - step));
        var epoch = step * (_examples / (double)done) / Math.Max(1, trainingExamples);
        var report = new TrainingProgress(step, options.MaxSteps, epoch, _lossSum / Math.Max(1, _lossCount), _learningRate,
            _tokens / Math.Max(1e-9, elapsed.TotalSeconds), elapsed, remaining, validation);
        Reports.Add(report);
        options.Progress?.Report(report);
        (_lossSum, _lossCount) = (0, 0);
    }
}
