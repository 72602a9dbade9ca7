using TorchSharp;

namespace Pipelines.Models.Tests;

/// <summary>
/// Runs the whole suite on another device when PIPELINES_TEST_DEVICE is set (e.g. "cuda"): every
/// tensor and module the tests create then lands there by default. Unset, tests run on the CPU.
/// </summary>
[TestClass]
public static class TestDevice
{
    [AssemblyInitialize]
    public static void Select(TestContext context)
    {
        var option = Environment.GetEnvironmentVariable("PIPELINES_TEST_DEVICE");
        if (string.IsNullOrWhiteSpace(option)) return;
        var device = ComputeDevice.Resolve(option);
        torch.set_default_device(device);
        context.WriteLine($"Tests run on {ComputeDevice.Describe(device)}");
    }
}
