using TorchSharp;

namespace Pipelines.Models;

/// <summary>
/// Turns a device option ("auto", "cpu", "cuda", "cuda:N") into a TorchSharp device. Every
/// component that trains or runs a model takes such an option; "auto" is the default everywhere.
/// </summary>
public static class ComputeDevice
{
    /// <summary>The default option: CUDA when the CUDA backend is loaded and a GPU is visible, else CPU.</summary>
    public const string Auto = "auto";

    /// <summary>Resolves <paramref name="option"/>; null or empty means <see cref="Auto"/>.</summary>
    /// <exception cref="ArgumentException">The option is not one of the accepted forms.</exception>
    /// <exception cref="InvalidOperationException">CUDA was asked for but cannot be used.</exception>
    public static torch.Device Resolve(string? option)
    {
        var text = string.IsNullOrWhiteSpace(option) ? Auto : option.Trim().ToLowerInvariant();
        if (text == Auto)
            return CudaAvailable() ? new torch.Device(DeviceType.CUDA, 0) : torch.CPU;
        if (text == "cpu")
            return torch.CPU;
        if (text == "cuda" || text.StartsWith("cuda:", StringComparison.Ordinal))
        {
            var index = 0;
            if (text.Length > 4 && (!int.TryParse(text.AsSpan(5), out index) || index < 0))
                throw new ArgumentException($"Device option '{option}': the GPU index after 'cuda:' must be a non-negative integer.", nameof(option));
            if (!CudaAvailable())
                throw new InvalidOperationException(
                    $"Device option '{option}' asks for CUDA, but no CUDA device is available. Build the application with " +
                    "-p:TorchSharpBackend=cuda (TorchSharp-cuda-linux) on a machine with an NVIDIA driver, or use 'cpu' or 'auto'.");
            var count = torch.cuda.device_count();
            if (index >= count)
                throw new InvalidOperationException($"Device option '{option}' asks for GPU {index}, but only {count} CUDA device(s) are visible.");
            return new torch.Device(DeviceType.CUDA, index);
        }
        throw new ArgumentException($"Device option '{option}' is not recognised: use 'auto', 'cpu', 'cuda' or 'cuda:N'.", nameof(option));
    }

    /// <summary>A short description for logs, e.g. "cpu (2 threads)" or "cuda:0".</summary>
    public static string Describe(torch.Device device) =>
        device.type == DeviceType.CPU ? $"cpu ({torch.get_num_threads()} threads)" : $"cuda:{Math.Max(device.index, 0)}";

    private static bool CudaAvailable()
    {
        try { return torch.cuda.is_available(); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    }
}
