/// The security classification of IAM actions that the linter's rules use.
///
/// These lists are judgements about risk, not facts about the API, so no
/// generator can derive them from botocore's models; the catalog is still the
/// authority on names: patterns here (`sts:AssumeRole*`) are expanded against
/// it, so a new `AssumeRole...` action is covered the day the catalog learns
/// it. Literal names stay in force even when the catalog lacks them, so a
/// rule never goes quiet because a catalog update renamed a service.
enum LintActionTables {
    /// Actions that hand out AWS credentials or passwords usable outside Rein.
    static let credentialMinting = [
        "sts:AssumeRole*", "sts:AssumeRoot", "sts:GetFederationToken", "sts:GetSessionToken",
        "sts:GetServiceBearerToken", "sts:GetWebIdentityToken",
        "iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile",
        "iam:CreateServiceSpecificCredential", "iam:ResetServiceSpecificCredential", "iam:UploadSSHPublicKey",
        "iam:UploadSigningCertificate",
        "cognito-identity:GetCredentialsForIdentity", "cognito-identity:GetOpenIdTokenForDeveloperIdentity",
        "redshift:GetClusterCredentials", "redshift:GetClusterCredentialsWithIAM", "redshift-serverless:GetCredentials",
        "codeartifact:GetAuthorizationToken", "lightsail:GetInstanceAccessDetails", "ec2:GetPasswordData",
    ]

    /// Actions that return secret values. `kms:Decrypt` only counts on broad
    /// key resources: decrypting with one named key is ordinary data access.
    static let secretRead = ["secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue", "ssm:GetParameter*"]
    static let secretReadOnBroadResources = ["kms:Decrypt"]

    /// Actions that run caller-chosen code or commands inside AWS.
    static let codeExecution = [
        "lambda:CreateFunction", "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration",
        "lambda:PublishLayerVersion",
        "ssm:SendCommand", "ssm:StartSession", "ssm:StartAutomationExecution", "ssm:CreateAssociation",
        "ecs:RunTask", "ecs:StartTask", "ecs:ExecuteCommand",
        "ec2:RunInstances", "ec2:RequestSpotInstances", "ec2:ModifyInstanceAttribute",
        "ec2-instance-connect:SendSSHPublicKey", "ec2-instance-connect:SendSerialConsoleSSHPublicKey",
        "glue:CreateDevEndpoint", "glue:UpdateDevEndpoint", "glue:CreateJob", "glue:UpdateJob", "glue:CreateSession",
        "codebuild:CreateProject", "codebuild:UpdateProject", "codebuild:StartBuild", "codebuild:StartBuildBatch",
        "sagemaker:CreateNotebookInstance", "sagemaker:CreatePresignedNotebookInstanceUrl",
        "sagemaker:CreateTrainingJob", "sagemaker:CreateProcessingJob",
        "batch:SubmitJob", "cloudformation:CreateStack", "cloudformation:UpdateStack",
        "cloudformation:ExecuteChangeSet", "datapipeline:PutPipelineDefinition", "apprunner:CreateService",
        "elasticmapreduce:RunJobFlow", "elasticmapreduce:AddJobFlowSteps",
    ]

    /// Actions that change a resource-based policy or ACL, i.e. who else may
    /// reach the resource. (Removing a public-access block is authorised as
    /// `s3:PutBucketPublicAccessBlock`.)
    static let resourceExposure = [
        "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketAcl", "s3:PutObjectAcl", "s3:PutObjectVersionAcl",
        "s3:PutBucketPublicAccessBlock", "s3:PutAccountPublicAccessBlock", "s3:PutAccessPointPolicy",
        "s3:PutAccessPointPublicAccessBlock", "s3:PutMultiRegionAccessPointPolicy",
        "iam:UpdateAssumeRolePolicy", "kms:PutKeyPolicy", "kms:CreateGrant",
        "sns:SetTopicAttributes", "sns:AddPermission", "sqs:SetQueueAttributes", "sqs:AddPermission",
        "lambda:AddPermission", "lambda:AddLayerVersionPermission", "lambda:CreateFunctionUrlConfig",
        "lambda:UpdateFunctionUrlConfig", "ecr:SetRepositoryPolicy", "ecr-public:SetRepositoryPolicy",
        "secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy",
        "glacier:SetVaultAccessPolicy", "elasticfilesystem:PutFileSystemPolicy", "logs:PutResourcePolicy",
        "events:PutPermission", "ec2:ModifySnapshotAttribute", "ec2:ModifyImageAttribute",
        "rds:ModifyDBSnapshotAttribute", "rds:ModifyDBClusterSnapshotAttribute", "ram:CreateResourceShare",
        "backup:PutBackupVaultAccessPolicy", "glue:PutResourcePolicy", "dynamodb:PutResourcePolicy",
        "apigateway:UpdateRestApiPolicy",
    ]

    /// A published privilege-escalation method: holding every action lets a
    /// principal gain permissions it was not given.
    struct EscalationPath: Sendable {
        let name: String
        let actions: [String]
    }

    /// The methods Rhino Security Labs published (Spencer Gietzen, 2018),
    /// which cloudsplaining also checks. Paths needing a role to assume treat
    /// the agent's own role as that role, so the attach/put-role-policy
    /// methods stand alone.
    static let escalationPaths: [EscalationPath] = [
        .init(name: "CreateNewPolicyVersion", actions: ["iam:CreatePolicyVersion"]),
        .init(name: "SetExistingDefaultPolicyVersion", actions: ["iam:SetDefaultPolicyVersion"]),
        .init(name: "CreateEC2WithExistingInstanceProfile", actions: ["iam:PassRole", "ec2:RunInstances"]),
        .init(name: "CreateAccessKey", actions: ["iam:CreateAccessKey"]),
        .init(name: "CreateLoginProfile", actions: ["iam:CreateLoginProfile"]),
        .init(name: "UpdateLoginProfile", actions: ["iam:UpdateLoginProfile"]),
        .init(name: "AttachUserPolicy", actions: ["iam:AttachUserPolicy"]),
        .init(name: "AttachGroupPolicy", actions: ["iam:AttachGroupPolicy"]),
        .init(name: "AttachRolePolicy", actions: ["iam:AttachRolePolicy"]),
        .init(name: "PutUserPolicy", actions: ["iam:PutUserPolicy"]),
        .init(name: "PutGroupPolicy", actions: ["iam:PutGroupPolicy"]),
        .init(name: "PutRolePolicy", actions: ["iam:PutRolePolicy"]),
        .init(name: "AddUserToGroup", actions: ["iam:AddUserToGroup"]),
        .init(name: "UpdateRolePolicyToAssumeIt", actions: ["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"]),
        .init(name: "PassRoleToNewLambdaThenInvoke",
              actions: ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"]),
        .init(name: "PassRoleToNewLambdaThenTriggerFromDynamoDB",
              actions: ["iam:PassRole", "lambda:CreateFunction", "lambda:CreateEventSourceMapping"]),
        .init(name: "EditExistingLambdaFunctionWithRole", actions: ["lambda:UpdateFunctionCode"]),
        .init(name: "PassRoleToNewGlueDevEndpoint", actions: ["iam:PassRole", "glue:CreateDevEndpoint"]),
        .init(name: "UpdateExistingGlueDevEndpoint", actions: ["glue:UpdateDevEndpoint"]),
        .init(name: "PassRoleToCloudFormation", actions: ["iam:PassRole", "cloudformation:CreateStack"]),
        .init(name: "PassRoleToNewDataPipeline",
              actions: ["iam:PassRole", "datapipeline:CreatePipeline", "datapipeline:PutPipelineDefinition"]),
    ]
}
