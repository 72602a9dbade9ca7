namespace Pipelines.NativePatch.Tests;

/// <summary>Where the patch tool looks for the library in an application's build or publish output.</summary>
[TestClass]
public sealed class OutputLayoutTests
{
    private string _dir = "";

    [TestInitialize]
    public void MakeOutput() => _dir = Directory.CreateTempSubdirectory("native-patch-").FullName;

    [TestCleanup]
    public void DeleteOutput() => Directory.Delete(_dir, recursive: true);

    private string Touch(string relative)
    {
        var path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, [0x7f, (byte)'E', (byte)'L', (byte)'F']);
        return path;
    }

    [TestMethod]
    public void ARuntimeSpecificOutputHasTheLibraryAtItsTop()
    {
        var top = Touch("libLibTorchSharp.so");
        CollectionAssert.AreEqual(new[] { top }, Program.Find(_dir).ToArray());
    }

    [TestMethod]
    public void APortableOutputHasItUnderEachLinuxRuntimeFolderOnly()
    {
        // What `dotnet build` of an application without a runtime identifier writes (packages' layout).
        var x64 = Touch("runtimes/linux-x64/native/libLibTorchSharp.so");
        var arm = Touch("runtimes/linux-arm64/native/libLibTorchSharp.so");
        Touch("runtimes/win-x64/native/LibTorchSharp.dll");
        Touch("runtimes/osx-arm64/native/libLibTorchSharp.dylib");
        Touch("runtimes/linux-x64/native/libtorch.so");
        CollectionAssert.AreEquivalent(new[] { x64, arm }, Program.Find(_dir).ToArray());
    }

    [TestMethod]
    public void AnOutputWithoutTorchSharpOrAMissingFolderHasNothingToPatch()
    {
        Touch("Some.Library.dll");
        Assert.AreEqual(0, Program.Find(_dir).Count);
        Assert.AreEqual(0, Program.Find(Path.Combine(_dir, "absent")).Count);
        Assert.AreEqual(0, Program.Main(["patch-native", Path.Combine(_dir, "absent")]), "nothing to do is not an error");
        Assert.AreEqual(2, Program.Main(["patch-native"]), "a usage error");
    }
}
