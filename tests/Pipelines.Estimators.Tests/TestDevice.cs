namespace Pipelines.Estimators.Tests;

/// <summary>The device option the tests train on: PIPELINES_TEST_DEVICE (e.g. "cuda") when set, else the CPU.</summary>
internal static class TestDevice
{
    public static string Option { get; } = Environment.GetEnvironmentVariable("PIPELINES_TEST_DEVICE") is { Length: > 0 } device ? device : "cpu";
}
