using System.Reflection;
using System.Security.Cryptography;

namespace Pipelines.NativePatch.Tests;

/// <summary>The build's patch of TorchSharp's native library, applied to a copy of the package's file.</summary>
[TestClass]
public sealed class LibTorchSharpPatchTests
{
    private static string Original => typeof(LibTorchSharpPatchTests).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "UnpatchedLibTorchSharp").Value!;

    private string _copy = "";

    [TestInitialize]
    public void CopyTheShippedLibrary()
    {
        _copy = Path.Combine(Path.GetTempPath(), $"libLibTorchSharp-{Guid.NewGuid():N}.so");
        File.Copy(Original, _copy);
    }

    [TestCleanup]
    public void DeleteTheCopy() => File.Delete(_copy);

    private static string Sha256(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    [TestMethod]
    public void PatchingRemovesTheGcc13SymbolAndIsIdempotent()
    {
        Assert.IsTrue(LibTorchSharpPatch.NeedsPatch(_copy), "the shipped library references GLIBCXX_3.4.32");
        Assert.AreEqual(PatchOutcome.Patched, LibTorchSharpPatch.Apply(_copy));
        Assert.IsFalse(LibTorchSharpPatch.NeedsPatch(_copy));
        var bytes = File.ReadAllBytes(_copy);
        Assert.AreEqual(new FileInfo(Original).Length, bytes.Length, "the patch edits in place");
        // The dynamic string table's copy of the name is overwritten; the static symbol table's
        // copy (debug information the loader never reads) stays.
        Assert.AreEqual(Occurrences(File.ReadAllBytes(Original), "_ZSt21ios_base_library_initv"u8) - 1,
            Occurrences(bytes, "_ZSt21ios_base_library_initv"u8));

        var once = Sha256(_copy);
        Assert.AreEqual(PatchOutcome.AlreadyPatched, LibTorchSharpPatch.Apply(_copy));
        Assert.AreEqual(once, Sha256(_copy), "a second run changes nothing");
    }

    [TestMethod]
    public void OnlyAFewBytesChange()
    {
        LibTorchSharpPatch.Apply(_copy);
        var before = File.ReadAllBytes(Original);
        var after = File.ReadAllBytes(_copy);
        var differing = before.Zip(after).Count(p => p.First != p.Second);
        Assert.IsTrue(differing is > 0 and < 64, $"{differing} bytes differ");
    }

    [TestMethod]
    public void ATruncatedFileIsRejectedCleanly()
    {
        using (var stream = new FileStream(_copy, FileMode.Open)) stream.SetLength(100_000);
        Assert.ThrowsExactly<InvalidDataException>(() => LibTorchSharpPatch.Apply(_copy));
    }

    [TestMethod]
    public void ANonElfFileIsRejectedCleanly()
    {
        File.WriteAllBytes(_copy, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => LibTorchSharpPatch.Apply(_copy));
        StringAssert.Contains(e.Message, "ELF");
    }

    [TestMethod]
    public void TheSystemLibStdCxxIsFoundAndItsVersionsRead()
    {
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("Linux only.");
        Assert.IsNotNull(LibStdCxx.Locate());
        Assert.IsTrue(LibStdCxx.DefinesVersion("GLIBCXX_3.4"), "every libstdc++ defines the base version");
        Assert.IsFalse(LibStdCxx.DefinesVersion("GLIBCXX_99.0"));
    }

    private static int Occurrences(byte[] haystack, ReadOnlySpan<byte> needle)
    {
        var count = 0;
        for (var rest = haystack.AsSpan(); rest.IndexOf(needle) is var i and >= 0; rest = rest[(i + needle.Length)..]) count++;
        return count;
    }
}
