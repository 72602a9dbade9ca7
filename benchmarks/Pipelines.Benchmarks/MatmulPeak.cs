using System.Diagnostics;
using static TorchSharp.torch;

namespace Pipelines.Benchmarks;

/// <summary>The machine's matrix-product rate (fp32 unless told), the yardstick model throughput is divided by.</summary>
public static class MatmulPeak
{
    /// <summary>FLOP/s of square products of size <paramref name="n"/> on <paramref name="device"/> (best of a few repeats).</summary>
    public static double Measure(Device device, int n = 1024, int repeats = 10, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        var a = randn(n, n, dtype: dtype, device: device);
        var b = randn(n, n, dtype: dtype, device: device);
        for (var i = 0; i < 3; i++) a.mm(b).Dispose(); // warm-up
        if (device.type == TorchSharp.DeviceType.CUDA) cuda.synchronize();
        var best = double.MaxValue;
        for (var r = 0; r < repeats; r++)
        {
            var clock = Stopwatch.StartNew();
            using var c = a.mm(b);
            if (device.type == TorchSharp.DeviceType.CUDA) cuda.synchronize();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return 2.0 * n * n * n / best;
    }
}
