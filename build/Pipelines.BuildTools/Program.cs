namespace Pipelines.BuildTools;

/// <summary>Entry point of the build-time helper: writes the publicized ML.NET reference copies (MlNetInternals.targets).</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        try
        {
            return args.FirstOrDefault() == "publicize" ? Publicize(args[1..]) : Usage();
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
}
