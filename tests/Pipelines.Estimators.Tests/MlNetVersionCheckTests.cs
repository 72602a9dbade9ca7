using System.Reflection;
using Microsoft.ML;
using Pipelines.MlNetInternals;

namespace Pipelines.Estimators.Tests;

/// <summary>The check that the ML.NET loaded is the one the library was built against (it uses ML.NET's internals).</summary>
[TestClass]
public sealed class MlNetVersionCheckTests
{
    [TestMethod]
    public void TheLibraryIsStampedWithTheMlNetVersionItWasBuiltAgainstWhichIsTheOneLoaded()
    {
        foreach (var assembly in new[] { typeof(TextClassifierOptions).Assembly, typeof(TextTokenizer).Assembly })
        {
            var built = assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "Pipelines.MlNetVersion").Value;
            var loaded = typeof(MLContext).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
            StringAssert.StartsWith(loaded, built + "+", $"{assembly.GetName().Name} is stamped {built}");
            Assert.IsNull(MlNetVersionCheck.Mismatch(assembly.GetName().Name!, built, loaded));
        }
    }

    [TestMethod]
    public void AnotherVersionIsRefusedByNameWithTheWayOut()
    {
        var message = MlNetVersionCheck.Mismatch("Pipelines.Estimators", "5.0.1", "5.1.0+0123abcd");
        Assert.IsNotNull(message);
        StringAssert.Contains(message, "Pipelines.Estimators was built and tested against ML.NET 5.0.1");
        StringAssert.Contains(message, "loaded ML.NET (Microsoft.ML.Data) 5.1.0");
        StringAssert.Contains(message, "<PackageReference Include=\"Microsoft.ML\" Version=\"5.0.1\" />");
        StringAssert.Contains(message, MlNetVersionCheck.AllowSwitch);
        Assert.IsNotNull(MlNetVersionCheck.Mismatch("X", "5.0.1", "5.0.10"), "a prefix is not a match");
        Assert.IsNotNull(MlNetVersionCheck.Mismatch("X", "5.0.1", null), "an unknown version is not a match");
        Assert.IsNull(MlNetVersionCheck.Mismatch("X", null, "9.9.9"), "an assembly built without the stamp is not checked");
    }
}
