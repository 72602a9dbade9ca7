// Why this file exists: an assembly that imports MlNetInternals.targets calls ML.NET's internals,
// which may change in any ML.NET release. The build records the ML.NET version it compiled
// against (assembly metadata "Pipelines.MlNetVersion"); when the assembly is first used, this
// check compares it with the Microsoft.ML.Data the process loaded and refuses another version by
// name, instead of a MissingMethodException deep inside a model save or load. The packages also
// check at build time (Pipelines.Transforms.targets). An application that wants to try another
// version anyway sets PipelinesAllowUntestedMlNetVersion=true in its project, which turns on the
// AppContext switch below.

using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Pipelines.MlNetInternals;

internal static class MlNetVersionCheck
{
    /// <summary>The AppContext switch that lets an untested ML.NET version through (with a trace warning).</summary>
    public const string AllowSwitch = "Pipelines.AllowUntestedMlNetVersion";

    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255", Justification = "The check must run before any method that touches ML.NET's internals is compiled.")]
    internal static void OnFirstUse()
    {
        var assembly = typeof(MlNetVersionCheck).Assembly;
        var built = assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "Pipelines.MlNetVersion")?.Value;
        var loaded = typeof(Microsoft.ML.MLContext).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (Mismatch(assembly.GetName().Name ?? "this library", built, loaded) is not { } message) return;
        if (AppContext.TryGetSwitch(AllowSwitch, out var allowed) && allowed)
        {
            Trace.TraceWarning(message);
            return;
        }
        throw new NotSupportedException(message);
    }

    /// <summary>
    /// Null when the ML.NET version <paramref name="loaded"/> (an informational version such as
    /// "5.0.1+a4f730ec") is the one <paramref name="built"/> against; otherwise the error to show.
    /// </summary>
    public static string? Mismatch(string assembly, string? built, string? loaded)
    {
        if (string.IsNullOrEmpty(built)) return null; // not stamped: a build outside MlNetInternals.targets
        var version = loaded?.Split('+')[0];
        if (string.Equals(version, built, StringComparison.Ordinal)) return null;
        return $"{assembly} was built and tested against ML.NET {built}, whose internal model-persistence API it uses, " +
               $"but this process loaded ML.NET (Microsoft.ML.Data) {version ?? "of unknown version"}. Reference Microsoft.ML {built} " +
               $"(<PackageReference Include=\"Microsoft.ML\" Version=\"{built}\" />), or set the AppContext switch '{AllowSwitch}' " +
               "(MSBuild property PipelinesAllowUntestedMlNetVersion=true) to run anyway: saving and loading models may then fail.";
    }
}
