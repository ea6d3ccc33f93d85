using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using LowLatency.TestSupport.Redis;

namespace LowLatency.Redis.Tests;

/// <summary>
/// TLS against a real redis-server (Debian's is built with TLS): a private certificate authority signs the server's
/// certificate for 127.0.0.1; the client trusts that authority through <see cref="RedisOptions.TlsCaFile"/> and refuses
/// the server when it trusts another.
/// </summary>
public sealed class RedisTlsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lowlatency-redis-tls-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [RedisFact]
    public void Execute_TlsWithAPrivateAuthority_CommandsWorkAndAnotherAuthorityIsRefused()
    {
        var (authority, caFile) = Authority("lowlatency-test-ca");
        using var ca = authority;
        var (_, otherCaFile) = Authority("someone-else");
        var certFile = Path.Combine(_dir, "server.crt");
        var keyFile = Path.Combine(_dir, "server.key");
        using (var key = RSA.Create(2048))
        {
            var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false)); // server auth
            using var server = request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), [1, 2, 3, 4]);
            File.WriteAllText(certFile, server.ExportCertificatePem());
            File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        }

        var tlsPort = FreePort();
        using var redis = RedisServer.Start(
            "--tls-port", tlsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", caFile, "--tls-auth-clients", "no");
        var options = new RedisOptions { Host = redis.Host, Port = tlsPort, Tls = true, TlsCaFile = caFile };

        using (var connection = new RedisConnection(options))
        {
            Assert.Equal("OK", connection.Execute("SET", "tls:key", "over tls").Text);
            Assert.Equal("over tls", connection.Execute("GET", "tls:key").Text);
        }

        using var untrusting = new RedisConnection(options with { TlsCaFile = otherCaFile });
        var refused = Assert.Throws<RedisConnectionException>(() => untrusting.Execute("PING"));
        Assert.Contains("127.0.0.1", refused.Message, StringComparison.Ordinal);
    }

    private (X509Certificate2 Certificate, string File) Authority(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-2), DateTimeOffset.UtcNow.AddDays(2));
        var file = Path.Combine(_dir, name + ".crt");
        File.WriteAllText(file, certificate.ExportCertificatePem());
        return (certificate, file);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
