using Microsoft.ML.Runtime;
using Pipelines.Models;
using TorchSharp;

namespace Pipelines;

/// <summary>
/// Picks the device a component trains or runs on and logs the choice through <c>MLContext.Log</c>.
/// A component's own Device option wins when set; otherwise the MLContext decides, as for
/// ML.NET's other GPU-capable trainers (Microsoft.ML.TorchSharp's among them): with
/// <c>MLContext.GpuDeviceId</c> set, that GPU, or the CPU when none is usable and
/// <c>MLContext.FallbackToCpu</c> allows it; without, the CPU.
/// </summary>
public static class DeviceSelection
{
    /// <summary>
    /// Resolves <paramref name="option"/> ("auto", "cpu", "cuda", "cuda:N"; null: the MLContext's
    /// GpuDeviceId and FallbackToCpu) and writes the chosen device to the environment's log.
    /// </summary>
    /// <exception cref="InvalidOperationException">A GPU was asked for and none is usable (and, from the MLContext, FallbackToCpu is false).</exception>
    public static torch.Device Select(IHostEnvironment env, string? option, string component)
    {
        ArgumentNullException.ThrowIfNull(env);
        using var channel = env.Start(component);
        torch.Device device;
        string source;
        if (option is not null)
            (device, source) = (ComputeDevice.Resolve(option), $"option '{option}'");
        else
            (device, source) = FromContext(env, channel);
        channel.Info($"{component}: device {ComputeDevice.Describe(device)} ({source})");
        return device;
    }

    private static (torch.Device, string) FromContext(IHostEnvironment env, IChannel channel)
    {
        var context = env as IHostEnvironmentInternal;
        if (context?.GpuDeviceId is not int gpu)
            return (torch.CPU, "MLContext.GpuDeviceId not set");
        var source = $"MLContext.GpuDeviceId {gpu}";
        try
        {
            return (ComputeDevice.Resolve($"cuda:{gpu}"), source);
        }
        catch (InvalidOperationException e) when (context.FallbackToCpu)
        {
            channel.Warning($"{e.Message} MLContext.FallbackToCpu is true: using the CPU.");
            return (torch.CPU, source + ", unusable; MLContext.FallbackToCpu");
        }
    }
}
