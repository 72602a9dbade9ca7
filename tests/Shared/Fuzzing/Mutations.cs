namespace Pipelines.Tests.Fuzzing;

/// <summary>
/// Random damage to a valid file, the kinds that disks, networks and people cause: bit flips,
/// truncations, splices (a chunk of the file copied over another place), inserted and deleted
/// runs, and boundary values (0x00, 0xFF, 0x7F, 0x80) written over bytes that may be lengths or counts.
/// </summary>
internal static class Mutations
{
    private static readonly byte[] Boundaries = [0x00, 0xFF, 0x7F, 0x80];

    public static (byte[] Bytes, string Description) Mutate(byte[] valid, Random random)
    {
        var n = valid.Length;
        switch (random.Next(6))
        {
            case 0:
            {
                var bytes = (byte[])valid.Clone();
                var flips = random.Next(1, 9);
                var positions = new List<int>();
                for (var i = 0; i < flips; i++)
                {
                    var position = random.Next(n);
                    bytes[position] ^= (byte)(1 << random.Next(8));
                    positions.Add(position);
                }
                return (bytes, $"{flips} bit flips at {string.Join(",", positions)}");
            }
            case 1:
            {
                var length = random.Next(n);
                return (valid[..length], $"truncated to {length} of {n} bytes");
            }
            case 2:
            {
                var (from, to) = (random.Next(n), random.Next(n));
                var length = random.Next(1, Math.Min(256, n - Math.Max(from, to)) + 1);
                var bytes = (byte[])valid.Clone();
                Array.Copy(valid, from, bytes, to, length);
                return (bytes, $"{length} bytes from {from} spliced over {to}");
            }
            case 3:
            {
                var position = random.Next(n + 1);
                var inserted = new byte[random.Next(1, 17)];
                random.NextBytes(inserted);
                return ([.. valid[..position], .. inserted, .. valid[position..]], $"{inserted.Length} random bytes inserted at {position}");
            }
            case 4:
            {
                var position = random.Next(n);
                var length = random.Next(1, Math.Min(64, n - position) + 1);
                return ([.. valid[..position], .. valid[(position + length)..]], $"{length} bytes deleted at {position}");
            }
            default:
            {
                var bytes = (byte[])valid.Clone();
                var count = random.Next(1, 5);
                var positions = new List<int>();
                for (var i = 0; i < count; i++)
                {
                    var position = random.Next(n);
                    bytes[position] = Boundaries[random.Next(Boundaries.Length)];
                    positions.Add(position);
                }
                return (bytes, $"boundary bytes at {string.Join(",", positions)}");
            }
        }
    }
}
