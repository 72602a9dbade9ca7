namespace Pipelines.NativePatch;

/// <summary>
/// patch-native &lt;directory&gt;: applies the libstdc++ compatibility patch to every
/// libLibTorchSharp.so for Linux in the directory (an application's build or publish output: the
/// file itself when built for a runtime identifier, under runtimes/linux-*/native/ otherwise),
/// when and only when the system's libstdc++ lacks GLIBCXX_3.4.32.
/// </summary>
public static class Program
{
    private const string NativeLibrary = "libLibTorchSharp.so";
    private const string MissingVersion = "GLIBCXX_3.4.32";

    public static int Main(string[] args)
    {
        if (args.Length != 2 || args[0] != "patch-native")
        {
            Console.Error.WriteLine("usage: patch-native <directory holding libLibTorchSharp.so>");
            return 2;
        }
        try
        {
            var files = Find(args[1]);
            if (!OperatingSystem.IsLinux() || files.Count == 0)
                return 0; // other platforms ship a library their toolchain can load
            if (LibStdCxx.DefinesVersion(MissingVersion))
            {
                Console.WriteLine($"Pipelines.NativePatch: system libstdc++ defines {MissingVersion}; {NativeLibrary} left as shipped");
                return 0;
            }
            foreach (var file in files)
            {
                var outcome = LibTorchSharpPatch.Apply(file);
                Console.WriteLine($"Pipelines.NativePatch: {Path.GetRelativePath(args[1], file)}: {outcome} (system libstdc++ lacks {MissingVersion})");
            }
            return 0;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"Pipelines.NativePatch: error: {e.Message}");
            return 1;
        }
    }

    /// <summary>The Linux copies of the library in <paramref name="directory"/>: at its top and under runtimes/linux-*/native/.</summary>
    public static IReadOnlyList<string> Find(string directory)
    {
        var found = new List<string>();
        if (!Directory.Exists(directory)) return found;
        var top = Path.Combine(directory, NativeLibrary);
        if (File.Exists(top)) found.Add(top);
        var runtimes = Path.Combine(directory, "runtimes");
        if (Directory.Exists(runtimes))
            foreach (var rid in Directory.EnumerateDirectories(runtimes, "linux-*").Order(StringComparer.Ordinal))
            {
                var file = Path.Combine(rid, "native", NativeLibrary);
                if (File.Exists(file)) found.Add(file);
            }
        return found;
    }
}
