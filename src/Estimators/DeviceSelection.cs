using Microsoft.ML.Runtime;
using Pipelines.Models;
using TorchSharp;

namespace Pipelines;

/// <summary>Resolves a component's device option and logs the choice through <c>MLContext.Log</c>.</summary>
public static class DeviceSelection
{
    /// <summary>
    /// Resolves <paramref name="option"/> ("auto", "cpu", "cuda", "cuda:N"; null means "auto") and
    /// writes the chosen device to the environment's log.
    /// </summary>
    public static torch.Device Select(IHostEnvironment env, string? option, string component)
    {
        ArgumentNullException.ThrowIfNull(env);
        var device = ComputeDevice.Resolve(option);
        using var channel = env.Start(component);
        channel.Info($"{component}: device {ComputeDevice.Describe(device)} (option '{option ?? ComputeDevice.Auto}')");
        return device;
    }
}
