namespace Pipelines.BuildTools;

/// <summary>Entry point of the build-time helper. Two verbs, each called by one MSBuild target.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        try
        {
            return args.FirstOrDefault() switch
            {
                "publicize" => Publicize(args[1..]),
                "patch-native" => PatchNative(args[1..]),
                _ => Usage(),
            };
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException)
        {
            Console.Error.WriteLine($"Pipelines.BuildTools: error: {e.Message}");
            return 1;
        }
    }

    private static int Usage()
    {
        Console.Error.WriteLine("usage: publicize <outDir> <assembly>... [--search <dir>...]");
        Console.Error.WriteLine("       patch-native <directory holding libLibTorchSharp.so>");
        return 2;
    }

    // publicize <outDir> <assembly>... --search <dir>...
    private static int Publicize(string[] args)
    {
        if (args.Length < 2) return Usage();
        var outDir = args[0];
        var split = Array.IndexOf(args, "--search");
        var inputs = split < 0 ? args[1..] : args[1..split];
        var searchDirs = split < 0 ? [] : args[(split + 1)..];
        Directory.CreateDirectory(outDir);
        var toolStamp = File.GetLastWriteTimeUtc(typeof(Program).Assembly.Location);
        foreach (var input in inputs)
        {
            var output = Path.Combine(outDir, Path.GetFileName(input));
            if (File.Exists(output)
                && File.GetLastWriteTimeUtc(output) >= File.GetLastWriteTimeUtc(input)
                && File.GetLastWriteTimeUtc(output) >= toolStamp)
                continue; // up to date
            var count = Publicizer.Write(input, output, searchDirs);
            Console.WriteLine($"Pipelines.BuildTools: publicized {count} members of {Path.GetFileName(input)}");
        }
        return 0;
    }

    private const string NativeLibrary = "libLibTorchSharp.so";
    private const string MissingVersion = "GLIBCXX_3.4.32";

    // patch-native <dir>: applies the libstdc++ compatibility patch to <dir>/libLibTorchSharp.so
    // when (and only when) the system's libstdc++ lacks GLIBCXX_3.4.32.
    private static int PatchNative(string[] args)
    {
        if (args.Length != 1) return Usage();
        var path = Path.Combine(args[0], NativeLibrary);
        if (!OperatingSystem.IsLinux() || !File.Exists(path))
            return 0; // other platforms ship a library their toolchain can load
        if (LibStdCxx.DefinesVersion(MissingVersion))
        {
            Console.WriteLine($"Pipelines.BuildTools: system libstdc++ defines {MissingVersion}; {NativeLibrary} left as shipped");
            return 0;
        }
        var outcome = LibTorchSharpPatch.Apply(path);
        Console.WriteLine($"Pipelines.BuildTools: {NativeLibrary}: {outcome} (system libstdc++ lacks {MissingVersion})");
        return 0;
    }
}
