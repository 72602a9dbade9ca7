using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pipelines.Estimators.Tests.Reliability;

/// <summary>Model zips that were damaged, tampered with or written by another version: refused with a clear message, never used.</summary>
[TestClass]
public sealed class ModelZipIntegrityTests
{
    private static readonly string[] OurStreams = ["Config.json", "Tokenizer.bin", "Weights.safetensors"];

    private static string EntryOf(byte[] zip, string stream) => ZipEntries.Names(zip).Single(n => n.EndsWith("/" + stream, StringComparison.Ordinal));

    /// <summary>The Model.key beside our weights: the header of the masked-LM transformer's entry.</summary>
    private static string OurModelKey(byte[] zip) => Path.GetDirectoryName(EntryOf(zip, "Weights.safetensors"))!.Replace('\\', '/') + "/Model.key";

    private static float[] Embedding(ITransformer model, MLContext ml) =>
        model.Transform(TinyModels.Data(ml, TinyModels.Mails.Take(1))).GetColumn<float[]>("Embedding").Single();

    internal static Exception? Find<T>(Exception e) where T : Exception
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
            if (x is T) return x;
        return null;
    }

    [TestMethod]
    public void AnIntactZipLoadsAndPredicts()
    {
        var ml = new MLContext();
        var embedding = Embedding(TinyModels.Load(ml, TinyModels.MaskedLmZip), ml);
        Assert.HasCount(16, embedding);
        Assert.IsTrue(embedding.All(float.IsFinite));
    }

    [TestMethod]
    public void TamperedWeightsAreRefusedByTheirChecksum()
    {
        var zip = TinyModels.MaskedLmZip;
        var weights = EntryOf(zip, "Weights.safetensors");
        // One bit of the last float: still a well-formed safetensors file, so only the checksum can tell.
        var tampered = ZipEntries.Rewrite(zip, (name, bytes) => name == weights ? Flip(bytes, bytes.Length - 2) : null);
        var error = Assert.Throws<Exception>(() => TinyModels.Load(new MLContext(), tampered));
        var cause = Find<InvalidDataException>(error);
        Assert.IsNotNull(cause, error.ToString());
        StringAssert.Contains(cause.Message, "Weights.safetensors");
        StringAssert.Contains(cause.Message, "checksum");
    }

    [TestMethod]
    public void ATamperedTokenizerOrConfigIsRefusedToo()
    {
        var zip = TinyModels.MaskedLmZip;
        foreach (var stream in new[] { "Tokenizer.bin", "Config.json" })
        {
            var entry = EntryOf(zip, stream);
            var tampered = ZipEntries.Rewrite(zip, (name, bytes) => name == entry ? Flip(bytes, bytes.Length - 2) : null);
            var error = Assert.Throws<Exception>(() => TinyModels.Load(new MLContext(), tampered));
            StringAssert.Contains(Find<InvalidDataException>(error)?.Message ?? error.ToString(), $"'{stream}' stream fails its SHA-256 checksum");
        }
    }

    [TestMethod]
    public void AZipMissingOneOfOurStreamsIsRefusedNamingIt()
    {
        var zip = TinyModels.MaskedLmZip;
        var weights = EntryOf(zip, "Weights.safetensors");
        using var output = new MemoryStream();
        output.Write(zip);
        using (var archive = new System.IO.Compression.ZipArchive(output, System.IO.Compression.ZipArchiveMode.Update, leaveOpen: true))
            archive.GetEntry(weights)!.Delete();
        var error = Assert.Throws<Exception>(() => TinyModels.Load(new MLContext(), output.ToArray()));
        StringAssert.Contains(Find<InvalidDataException>(error)?.Message ?? error.ToString(), "lacks the 'Weights.safetensors' stream");
    }

    [TestMethod]
    public void AZipFromANewerVersionIsRefusedWithAVersionMessage()
    {
        var zip = TinyModels.MaskedLmZip;
        var key = OurModelKey(zip);
        var newer = ZipEntries.Rewrite(zip, (name, bytes) => name == key ? WithVersion(bytes, 0x00020001) : null);
        var error = Assert.Throws<Exception>(() => TinyModels.Load(new MLContext(), newer));
        var messages = string.Join(" | ", Chain(error).Select(e => e.Message));
        StringAssert.Contains(messages, "version", StringComparison.OrdinalIgnoreCase);
    }

    [TestMethod]
    public void AZipOfTheFirstFormatWithoutChecksumsStillLoadsAndPredictsTheSame()
    {
        var zip = TinyModels.MaskedLmZip;
        var key = OurModelKey(zip);
        var streams = OurStreams.Select(s => EntryOf(zip, s)).ToHashSet();
        var legacy = ZipEntries.Rewrite(zip, (name, bytes) =>
            name == key ? WithVersion(bytes, 0x00010001) : streams.Contains(name) ? bytes[32..] : null);
        var ml = new MLContext();
        CollectionAssert.AreEqual(Embedding(TinyModels.Load(ml, zip), ml), Embedding(TinyModels.Load(ml, legacy), ml));
    }

    [TestMethod]
    public void ATruncatedZipIsRefusedWithAnIOOrFormatError()
    {
        var zip = TinyModels.MaskedLmZip;
        foreach (var length in new[] { 0, 22, zip.Length / 10, zip.Length / 2, zip.Length - 100, zip.Length - 1 })
        {
            var error = Assert.Throws<Exception>(() => TinyModels.Load(new MLContext(), zip[..length]), $"length {length}");
            Assert.IsTrue(Chain(error).Any(e => e is InvalidDataException or FormatException or EndOfStreamException),
                $"truncated to {length} of {zip.Length} bytes: {error}");
        }
    }

    private static IEnumerable<Exception> Chain(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException) yield return x;
    }

    private static byte[] Flip(byte[] bytes, int index)
    {
        var copy = (byte[])bytes.Clone();
        copy[index] ^= 0x01;
        return copy;
    }

    private static byte[] WithVersion(byte[] header, uint version)
    {
        var copy = (byte[])header.Clone();
        BitConverter.TryWriteBytes(copy.AsSpan(ZipEntries.ModelVerWrittenOffset), version);
        BitConverter.TryWriteBytes(copy.AsSpan(ZipEntries.ModelVerReadableOffset), version);
        return copy;
    }
}
