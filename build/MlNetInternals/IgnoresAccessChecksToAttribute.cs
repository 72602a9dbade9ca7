// Why this file exists: ML.NET 5 offers no public way to write a transformer that saves into, and
// loads from, an ML.NET model zip (ModelSaveContext, ModelLoadContext, LoadableClass, VersionInfo
// and the row-mapper base classes are internal, and friend access is granted only to
// Microsoft-signed assemblies). The build compiles against publicized copies of
// Microsoft.ML.Core and Microsoft.ML.Data (MlNetInternals.targets); this attribute tells the .NET
// runtime to let this assembly use the real ones' internals as well. The runtime recognises the
// attribute by name; it is not part of the public BCL, so each assembly declares it itself.
// Keep every use of ML.NET internals in the thin persistence layer of the assemblies that import
// MlNetInternals.targets.

[assembly: System.Runtime.CompilerServices.IgnoresAccessChecksTo("Microsoft.ML.Core")]
[assembly: System.Runtime.CompilerServices.IgnoresAccessChecksTo("Microsoft.ML.Data")]

namespace System.Runtime.CompilerServices
{
    [AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
    internal sealed class IgnoresAccessChecksToAttribute(string assemblyName) : Attribute
    {
        public string AssemblyName { get; } = assemblyName;
    }
}
