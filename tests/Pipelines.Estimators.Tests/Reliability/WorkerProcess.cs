using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Pipelines.Estimators.Tests.Reliability;

/// <summary>
/// Starts Pipelines.Reliability.Worker (a checkpointed pretraining run) as a separate process, reads
/// its "step N" lines, and can kill it with SIGKILL at a chosen step.
/// </summary>
internal sealed class WorkerProcess(string corpus, string checkpoints, string output, int steps, int seed, string reading = "inmemory")
{
    public string Output { get; } = output;

    /// <summary>The worker's build output: the same configuration folder as this test assembly's, in the worker project.</summary>
    private static string WorkerDll
    {
        get
        {
            var path = Path.Combine(AppContext.BaseDirectory.Replace("Pipelines.Estimators.Tests", "Pipelines.Reliability.Worker"), "Pipelines.Reliability.Worker.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException("Build the solution: the worker process was not found.", path);
        }
    }

    /// <summary>The dotnet host running this process (the tests run as their own executable, not under dotnet).</summary>
    private static string DotnetHost
    {
        get
        {
            var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
            var host = Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
            return File.Exists(host) ? host : "dotnet";
        }
    }

    /// <summary>Runs the worker; when <paramref name="killAtStep"/> is given, SIGKILLs it once it reports that step, after <paramref name="extraDelay"/>.</summary>
    /// <returns>True when it ran to completion, false when it was killed.</returns>
    public bool Run(int? killAtStep = null, TimeSpan extraDelay = default)
    {
        var start = new ProcessStartInfo(DotnetHost)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var arg in new[] { WorkerDll, $"--corpus={corpus}", $"--checkpoints={checkpoints}", $"--out={Output}", $"--steps={steps}", $"--seed={seed}", $"--reading={reading}" })
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        string? line;
        var killed = false;
        while ((line = process.StandardOutput.ReadLine()) is not null)
        {
            if (killAtStep is int k && line == $"step {k}")
            {
                if (extraDelay > TimeSpan.Zero) Thread.Sleep(extraDelay);
                process.Kill(entireProcessTree: true); // SIGKILL on Unix: no handler, no cleanup runs
                killed = true;
                break;
            }
        }
        if (!process.WaitForExit(TimeSpan.FromMinutes(5))) { process.Kill(true); throw new TimeoutException("worker hung"); }
        if (killed) return false;
        if (process.ExitCode != 0) throw new InvalidOperationException($"worker exited with {process.ExitCode}: {errors.Result}");
        return true;
    }

    public Metrics ReadMetrics() => JsonSerializer.Deserialize<Metrics>(File.ReadAllText(Path.Combine(Output, "metrics.json")))!;

    public byte[] Weights => File.ReadAllBytes(Path.Combine(Output, "weights.safetensors"));

    public sealed record Metrics(int Steps, int ValidationStep, double ValidationLoss);
}
